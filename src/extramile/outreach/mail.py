"""Composing one email to a client: a plain-text part and an HTML part with the photos inline."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from email.mime.image import MIMEImage
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from extramile.catalog.models import Photo, Product
from extramile.outreach.models import Message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShownProduct:
    """A product as the email shows it: its picture is inline (cid:…) or linked (https://…)."""

    title: str
    price: str
    image_src: str
    image_alt: str


def message_id(message: Message) -> str:
    """The Message-ID header: the same for every attempt, so a resend is seen as one message."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "extramile.invalid"
    return f"<{message.uid}@{domain}>"


def _products(message: Message) -> list[Product]:
    action = message.action
    if action is None:
        return []
    shown = action.action_products.select_related("product").prefetch_related("product__photos")
    return [row.product for row in shown]


def _price(product: Product) -> str:
    return f"{product.currency} {product.price:,.2f}" if product.price is not None else ""


def _inline_image(photo: Photo, content_id: str) -> MIMEImage | None:
    """Read a stored photo into an inline MIME part, or None when its file cannot be read."""
    try:
        with photo.image.open("rb") as handle:
            data = handle.read()
    except OSError:
        logger.warning("Photo %s has no readable file at %s; left out.", photo.pk, photo.image)
        return None
    guessed, _ = mimetypes.guess_type(photo.image.name)
    subtype = guessed.split("/", 1)[1] if guessed and guessed.startswith("image/") else "jpeg"
    part = MIMEImage(data, _subtype=subtype)
    part.add_header("Content-ID", f"<{content_id}>")
    part.add_header("Content-Disposition", "inline", filename=photo.image.name.rsplit("/", 1)[-1])
    return part


def build_email(message: Message, *, preference_url: str) -> EmailMultiAlternatives:
    """Compose the email for an outbox message, with its action's product photos inline."""
    client = message.client
    store = message.action.store if message.action is not None else client.store
    shown: list[ShownProduct] = []
    images: list[MIMEImage] = []
    for product in _products(message):
        photo = next(iter(product.photos.all()), None)
        src = ""
        if photo is not None and photo.image:
            content_id = f"photo-{photo.pk}.{message.uid.hex}@extramile"
            part = _inline_image(photo, content_id)
            if part is not None:
                images.append(part)
                src = f"cid:{content_id}"
        if not src and photo is not None and photo.source_url:
            # A photo held elsewhere is linked, never fetched: the mail client loads it.
            src = photo.source_url
        shown.append(
            ShownProduct(
                title=product.title,
                price=_price(product),
                image_src=src,
                image_alt=(photo.alt if photo is not None and photo.alt else product.title),
            )
        )
    context = {
        "body": message.body,
        "products": shown,
        "store": store,
        "sender": message.sender,
        "preference_url": preference_url,
    }
    text = render_to_string("outreach/email.txt", context)
    html = render_to_string("outreach/email.html", context)
    sender_name = message.sender.first_name if message.sender else ""
    from_name = f"{sender_name} at {store.name}" if sender_name else store.name
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=text,
        from_email=formataddr((from_name, settings.DEFAULT_FROM_EMAIL)),
        to=[message.to],
        reply_to=[message.sender.email] if message.sender and message.sender.email else None,
        headers={
            "Message-ID": message_id(message),
            "List-Unsubscribe": f"<{preference_url}unsubscribe/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(html, "text/html")
    if images:
        # multipart/related around the text/HTML alternatives lets the HTML refer to cid: parts.
        email.mixed_subtype = "related"
        for image in images:
            email.attach(image)
    return email


def send_email(message: Message, *, preference_url: str) -> str:
    """Hand the email to the configured backend; return its Message-ID."""
    email = build_email(message, preference_url=preference_url)
    # A fresh connection per message: its timeout is EMAIL_TIMEOUT, below the delivery lease.
    email.connection = get_connection(fail_silently=False)
    if email.send() != 1:
        raise RuntimeError(f"The email backend did not send message {message.uid}.")
    return message_id(message)
