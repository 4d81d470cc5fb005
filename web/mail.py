"""E-mail alerts over SMTP (aiosmtplib): off unless `smtp.host` is configured.

One message per alert and recipient, plain text, built from the alert's generated sentence
and link only (inventory/alerts.py), so it cannot carry a client identifier.
"""

from __future__ import annotations

from email.message import EmailMessage

from inventory.alerts import Message
from inventory.config import SmtpSettings


def compose(message: Message, sender: str, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = message.title
    mail.set_content(message.text())
    return mail


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return bool(self.settings.host)

    async def send(self, message: Message, to: str) -> None:
        """Send one alert; raises aiosmtplib's errors (the delivery is marked failed)."""
        import aiosmtplib  # when first needed: not every deployment mails

        s = self.settings
        await aiosmtplib.send(
            compose(message, s.sender, to), hostname=s.host, port=s.port,
            username=s.user or None, password=s.password or None, use_tls=s.tls,
            start_tls=s.starttls and not s.tls, timeout=s.timeout_seconds)
