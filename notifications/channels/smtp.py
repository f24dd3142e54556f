"""E-mail channel over SMTP (smtplib), with optional STARTTLS and AUTH.

Reply codes 5xx are permanent (unknown mailbox, refused sender), 4xx and connection problems temporary. The
Message-ID is derived from the outbox dedupe key, so a retried message is recognisable as the same message.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from notifications.channels.base import DeliveryReceipt, PermanentFailure, TemporaryFailure
from notifications.config import SmtpConfig
from notifications.outbox import OutboxMessage


def _by_code(code: int, reason: str) -> TemporaryFailure | PermanentFailure:
    return PermanentFailure(reason) if code >= 500 else TemporaryFailure(reason)


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The RFC 5322 message for one outbox row (plain text, UTF-8)."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    domain = sender.rpartition("@")[2] or "kuzet.local"
    email["Message-ID"] = f"<{hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:32]}@{domain}>"
    email.set_content(message.body)
    return email


class SmtpChannel:
    """One SMTP session per message (the relay may be far away and sessions go stale)."""

    name = "email"

    def __init__(self, config: SmtpConfig, tls: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.tls = tls

    def send(self, message: OutboxMessage) -> DeliveryReceipt:
        """Hand the message to the relay; the receipt carries the Message-ID."""
        email = build_email(message, self.config.sender)
        where = f"smtp {self.config.host}:{self.config.port}"
        try:
            with smtplib.SMTP(self.config.host, self.config.port, timeout=self.config.timeout_s) as smtp:
                if self.config.starttls:
                    smtp.starttls(context=self.tls or ssl.create_default_context())
                if self.config.username is not None:
                    smtp.login(
                        self.config.username, self.config.password.get_secret_value() if self.config.password else ""
                    )
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, f"{where}: recipient refused: {code} {text.decode(errors='replace')}") from exc
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise _by_code(exc.smtp_code, f"{where}: {exc.smtp_code} {reply}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentFailure(f"{where}: {exc} (check starttls/username in the settings)") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{where}: {type(exc).__name__}: {exc}") from exc
        return DeliveryReceipt(provider_id=str(email["Message-ID"]), detail="accepted by relay")

    def close(self) -> None:
        """Nothing held open between messages."""
