"""E-mail (channel ``email``): the notice as a message with plain text and HTML parts, its
payload and the payload's detached signature attached, sent to the mission's SMTP relay. A
daily report's notice carries the report's document (PDF or HTML) and its signed note
(``.sig``) too: a mail system carries files of that size, and an e-mail is often read where the
center cannot be reached.

The ``Message-ID`` is made from the notice id, the same on every attempt, so a mail system
(or a reader's filter) drops a repeat. A recipient the relay refuses with a permanent code
(5xx), or an address that is no e-mail address, is refused for good; a relay that is down,
slow or answers 4xx is a failure the dispatcher retries.
"""

from __future__ import annotations

import json
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from email_validator import EmailNotValidError, validate_email

from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.dissemination.webhooks import Signer, sign_payload
from ceasefire.i18n import _


def _relay(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(_("the SMTP relay is host:port, not {value!r}").format(value=value))
    return host.strip("[]"), int(port)


class Email:
    name = "email"

    def __init__(
        self, signer: Signer, relay: str, sender: str, mission: str, timeout: float = 10.0
    ) -> None:
        self.signer = signer
        self.host, self.port = _relay(relay)
        self.domain = f"{mission or 'center'}.ceasefire.invalid"
        self.sender = sender or f"ceasefire@{self.domain}"
        self.timeout = timeout

    def message(self, outgoing: Outgoing) -> EmailMessage:
        """The message of one notice (also what a test or an operator can look at)."""
        payload = outgoing.payload.encode("utf-8")
        html = json.loads(outgoing.payload).get("html")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = outgoing.address
        message["Subject"] = outgoing.subject
        message["Date"] = format_datetime(outgoing.created_at)
        message["Message-ID"] = f"<{outgoing.notice_id}@{self.domain}>"
        message["X-Ceasefire-Notice"] = outgoing.notice_id
        message["Content-Language"] = outgoing.lang
        message.set_content(outgoing.body)
        if html:
            message.add_alternative(html, subtype="html")
        message.add_attachment(
            payload, maintype="application", subtype="json", filename=f"{outgoing.notice_id}.json"
        )
        message.add_attachment(
            sign_payload(self.signer, payload).encode(),
            maintype="application",
            subtype="octet-stream",
            filename=f"{outgoing.notice_id}.json.sig",
        )
        # a daily report's document and the note both contingents' heads signed over it
        # (as bytes, base64: the signed SHA-256 is of these bytes, which a text part's line
        # endings could change in transit)
        for attached in outgoing.attachments:
            message.add_attachment(
                attached.data,
                maintype=attached.maintype,
                subtype=attached.subtype,
                filename=attached.filename,
                params={"charset": "utf-8"} if attached.maintype == "text" else {},
            )
        return message

    async def send(self, outgoing: Outgoing) -> None:
        try:
            address = validate_email(outgoing.address, check_deliverability=False).normalized
        except EmailNotValidError as e:
            raise DeliveryFailed(
                _("not an e-mail address: {error}").format(error=e), retry=False
            ) from e
        message = self.message(outgoing)
        try:
            await aiosmtplib.send(
                message,
                sender=str(Address(addr_spec=self.sender)),
                recipients=[address],
                hostname=self.host,
                port=self.port,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            raise DeliveryFailed(
                _("the relay refused the recipient: {error}").format(error=e),
                retry=not all(500 <= code < 600 for code in codes),
            ) from e
        except aiosmtplib.SMTPResponseException as e:
            raise DeliveryFailed(
                _("the relay answered {code}: {message}").format(code=e.code, message=e.message),
            ) from e
        except (aiosmtplib.SMTPException, OSError) as e:
            raise DeliveryFailed(
                _("the relay failed: {error}").format(error=f"{type(e).__name__}: {e}")
            ) from e


def make(context: Context) -> Email:
    return Email(context.signer, context.smtp, context.smtp_from, context.mission, context.timeout)
