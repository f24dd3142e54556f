"""Camera health on the edge: the frame source's own state and the tamper monitor judged from decoded frames.

``source_health`` records a source's drops and reconnects in the device's status table; ``monitor`` judges covered,
defocused, moved, frozen, offline, clock drift and thermal faults with hysteresis against a ``baseline`` recorded at
installation (``kuzet camera baseline``) or taken from the first seconds of a stream; ``events`` turns a change into
the wire's ``CameraHealthEvent``.
"""
