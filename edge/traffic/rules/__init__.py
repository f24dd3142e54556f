"""Traffic rules: small pure functions of a track, the scene geometry and the signal state."""
