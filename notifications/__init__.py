"""Notifications: a durable outbox in the host's database and a worker that delivers it.

The package owns the outbox: its tables (``notifications.schema``, installed by the backend's migration 250) and
every statement against it (``notifications.outbox``). Producers (the attendance handler, the violation review)
call ``notifications.outbox.enqueue`` / ``enqueue_police`` inside their own transaction, with texts from
``notifications.templates.render`` (kk/ru/en). ``kuzet notify --config backend.yaml`` (or
``notifications.run_in_backend: true`` under ``kuzet serve``) runs ``notifications.worker.OutboxWorker`` over the
configured channels, on connections opened by the factory its host passes (``notifications.database.Connect``):
nothing here imports the backend. Example section of backend.yaml::

    notifications:
      timezone: Asia/Almaty
      smtp: {host: smtp.school.kz, port: 587, sender: kuzet@school.kz, username: kuzet, password: "<relay password>"}
      telegram: {token: "<bot token from @BotFather>"}  # base_url: https://api.telegram.org
      sms: {url: https://sms.example.kz/api/v1/send, api_key: "<gateway API key>"}
      police: {url: https://police.example.kz/kuzet/violations, secret: "<openssl rand -hex 32>"}
      worker: {concurrency: 8, max_attempts: 8, backoff_initial_s: 2, backoff_max_s: 600, lease_s: 60}
"""
