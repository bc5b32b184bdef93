"""Forms of the client book: they parse and check input; the services write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from extramile.accounts.access import scope_to_user
from extramile.accounts.models import Store, User, validate_time_zone
from extramile.clients import services
from extramile.clients.models import (
    Channel,
    Client,
    ClientStatus,
    DateKind,
    PreferenceDimension,
    PreferenceSource,
    Tag,
)
from extramile.loyalty.services import find_referrer

EDITABLE_STATUSES = [(s.value, s.label) for s in ClientStatus if s != ClientStatus.MERGED]
MONTHS = [
    (1, "January"),
    (2, "February"),
    (3, "March"),
    (4, "April"),
    (5, "May"),
    (6, "June"),
    (7, "July"),
    (8, "August"),
    (9, "September"),
    (10, "October"),
    (11, "November"),
    (12, "December"),
]


def normalized_or_error(normalize: Callable[[str], str], value: str) -> str:
    """Return the email or phone normalised, or raise the form error that says why not."""
    try:
        return normalize(value)
    except services.InvalidContact as exc:
        raise ValidationError(str(exc)) from exc


class StaffChoiceField(forms.ModelChoiceField):
    """A choice among active staff, for the primary associate, shown by name."""

    def __init__(self, staff: Any, *, with_store: bool = False) -> None:
        """Offer these staff; name their store too when several stores are on offer."""
        super().__init__(
            queryset=staff.filter(is_active=True)
            .select_related("store")
            .order_by("first_name", "last_name", "username"),
            required=False,
            empty_label="— nobody —",
        )
        self.with_store = with_store

    def label_from_instance(self, obj: Any) -> str:
        """Show the colleague's name (and store)."""
        return f"{obj.display_name} ({obj.store})" if self.with_store else obj.display_name


class ContactFieldsMixin(forms.Form):
    """Email and phone, normalised as the services store them, with clear errors."""

    email = forms.CharField(required=False, max_length=254, widget=forms.EmailInput)
    phone = forms.CharField(
        required=False, max_length=40, widget=forms.TextInput(attrs={"type": "tel"})
    )
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_email(self) -> str:
        """Lower-case the email and refuse what is not one."""
        return normalized_or_error(services.normalize_email, self.cleaned_data["email"])

    def clean_phone(self) -> str:
        """Turn the number into E.164 and refuse what is not one."""
        return normalized_or_error(services.normalize_phone, self.cleaned_data["phone"])


class ClientForm(ContactFieldsMixin):
    """The main fields of a client, for the new-client and edit pages."""

    first_name = forms.CharField(required=False, max_length=100)
    last_name = forms.CharField(required=False, max_length=100)
    language = forms.CharField(
        max_length=16, initial="en", help_text="A language code: en, fr, pt-BR…"
    )
    time_zone = forms.CharField(
        max_length=64, required=False, help_text="An IANA zone such as Europe/Paris."
    )
    status = forms.ChoiceField(choices=EDITABLE_STATUSES, initial=ClientStatus.ACTIVE)
    field_order = [
        "store",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "language",
        "time_zone",
        "status",
        "primary_associate",
    ]

    def __init__(self, *args: Any, store: Store | None, stores: Any = None, **kwargs: Any) -> None:
        """Offer the staff of the client's store, or let an admin pick the store of a new one."""
        super().__init__(*args, **kwargs)
        if stores is not None:
            self.fields["store"] = forms.ModelChoiceField(queryset=stores)
            staff = User.objects.filter(store__in=stores)
            self.fields["primary_associate"] = StaffChoiceField(staff, with_store=True)
        else:
            self.fields["primary_associate"] = StaffChoiceField(User.objects.filter(store=store))
        self.order_fields(self.field_order)

    def clean_language(self) -> str:
        """Accept language codes such as en, fr or pt-BR."""
        value = self.cleaned_data["language"].strip()
        services.validate_language(value)
        return value

    def clean_time_zone(self) -> str:
        """Accept only IANA time zone names."""
        value = self.cleaned_data["time_zone"].strip()
        validate_time_zone(value)
        return value

    def clean(self) -> dict[str, Any]:
        """Need a way to tell the client apart; keep the associate in the client's store."""
        data = super().clean() or {}
        identified = any(data.get(f) for f in ("first_name", "last_name", "email", "phone"))
        if not identified and "email" not in self.errors and "phone" not in self.errors:
            raise ValidationError("Give at least a name, an email or a phone number.")
        store = data.get("store")
        associate = data.get("primary_associate")
        if store is not None and associate is not None and associate.store_id != store.pk:
            self.add_error("primary_associate", f"{associate.display_name} works elsewhere.")
        return data


class NewClientForm(ClientForm):
    """The new-client page: the main fields and, optionally, the client who sent them.

    `referred_by` is read as on the profile's referral form (a name, an email, a phone or
    #number) and checked before anything is created; cleaned, it is the client it names.
    """

    referred_by = forms.CharField(
        required=False,
        max_length=200,
        label="Referred by",
        help_text="The client who sent them: a name, email, phone or #number. "
        "They will get a thank-you from their associate.",
        widget=forms.TextInput(attrs={"placeholder": "Name, email, phone or #number"}),
    )
    field_order = [*ClientForm.field_order, "referred_by"]

    def __init__(self, *args: Any, store: Store | None, stores: Any = None, **kwargs: Any) -> None:
        """Look the referrer up in the user's store, or in the one an admin picks."""
        super().__init__(*args, store=store, stores=stores, **kwargs)
        self.home_store = store

    def clean_referred_by(self) -> Client | None:
        """Return the one client of the new client's store that the words name, or say why not."""
        said = self.cleaned_data["referred_by"].strip()
        if not said:
            return None
        store = self.cleaned_data.get("store") if "store" in self.fields else self.home_store
        if store is None:
            return None  # the store field says what is wrong
        try:
            return find_referrer(store, said)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class ContactForm(ContactFieldsMixin):
    """The quick edit of the primary email, phone and address."""


class NoteForm(forms.Form):
    """A note about the client."""

    body = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What happened?"})
    )


class SizeForm(forms.Form):
    """The size worn in one category."""

    category = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"placeholder": "Suits, shoes…"})
    )
    size = forms.CharField(max_length=32, widget=forms.TextInput(attrs={"placeholder": "40R"}))


class PreferenceForm(forms.Form):
    """A like or a dislike."""

    likes = forms.TypedChoiceField(
        choices=[("1", "Likes"), ("0", "Dislikes")],
        coerce=lambda v: v == "1",
        initial="1",
        widget=forms.RadioSelect,
        label="",
    )
    dimension = forms.ChoiceField(choices=PreferenceDimension.choices, label="What")
    value = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"placeholder": "navy, Loro Piana…"})
    )
    source = forms.ChoiceField(
        choices=[(PreferenceSource.STATED, "Stated"), (PreferenceSource.OBSERVED, "Observed")],
        initial=PreferenceSource.STATED,
    )


class ImportantDateForm(forms.Form):
    """A yearly date worth remembering."""

    kind = forms.ChoiceField(choices=DateKind.choices)
    label = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"placeholder": "optional"})
    )
    month = forms.TypedChoiceField(choices=MONTHS, coerce=int)
    day = forms.IntegerField(min_value=1, max_value=31)
    year = forms.IntegerField(min_value=1900, max_value=2100, required=False)


class NeedForm(forms.Form):
    """A need in the client's own words."""

    text = forms.CharField(
        label="Need",
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "A recorder for live music and interviews"}
        ),
    )
    budget = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2, label="Budget"
    )


class TagsForm(forms.Form):
    """The client's tags, comma-separated."""

    tags = forms.CharField(
        required=False,
        help_text="Separate with commas.",
        widget=forms.TextInput(attrs={"placeholder": "vip, wedding 2027"}),
    )

    def clean_tags(self) -> list[str]:
        """Split into distinct names of at most 60 characters."""
        names = services.parse_tags(self.cleaned_data["tags"])
        too_long = [n for n in names if len(n) > 60]
        if too_long:
            raise ValidationError(f"{too_long[0][:20]!r}… is longer than 60 characters.")
        return names


class ConsentForm(forms.Form):
    """A consent decision for one channel."""

    channel = forms.ChoiceField(choices=Channel.choices)
    granted = forms.TypedChoiceField(
        choices=[("1", "Yes, may contact"), ("0", "No, do not contact")],
        coerce=lambda v: v == "1",
        initial="1",
        label="Decision",
    )
    source = forms.CharField(
        max_length=120,
        initial="in person",
        help_text="How it was given: in person, phone call, signed form…",
    )


class BookFilterForm(forms.Form):
    """The search box and filters of the client book."""

    q = forms.CharField(required=False, label="Search")
    tag = forms.ChoiceField(required=False)
    associate = forms.ChoiceField(required=False, label="Primary associate")
    status = forms.ChoiceField(required=False, choices=[("", "Current"), *ClientStatus.choices])
    consent = forms.ChoiceField(
        required=False,
        label="Consent",
        choices=[("", "Any"), (Channel.EMAIL, "May email"), (Channel.SMS, "May text (SMS)")],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        """Offer the tags and staff this user may see."""
        super().__init__(*args, **kwargs)
        tags = Tag.objects.filter(clients__in=scope_to_user(Client.objects.all(), user)).distinct()
        cast(forms.ChoiceField, self.fields["tag"]).choices = [
            ("", "Any tag"),
            *((t.name, t.name) for t in tags),
        ]
        staff = (
            scope_to_user(User.objects.filter(is_active=True), user)
            .exclude(role="admin")
            .order_by("first_name", "last_name", "username")
        )
        cast(forms.ChoiceField, self.fields["associate"]).choices = [
            ("", "Anyone"),
            ("me", "Mine"),
            ("none", "Nobody"),
            *((str(u.pk), u.display_name) for u in staff if u.pk != user.pk),
        ]
