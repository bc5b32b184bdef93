"""`extramile import KIND [FILE]`: load clients, products, orders, vCards, Shopify or Ta-Feng."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from extramile.accounts.models import Store
from extramile.ingest.report import ImportReport

KINDS = ("clients", "products", "orders", "vcard", "shopify", "ta-feng")


def _store(code: str | None) -> Store | None:
    if not code:
        return None
    store = Store.objects.filter(code=code).first()
    if store is None:
        codes = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
        raise CommandError(f"No store with code {code!r} (stores: {codes}).")
    return store


class Command(BaseCommand):
    """Run one importer and print what it did; exit 1 when rows were refused."""

    help = "Import data. KIND: " + ", ".join(KINDS)

    def add_arguments(self, parser: Any) -> None:
        """Accept the kind, the file and the options shared by the importers."""
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", nargs="?", help="the file to read (ta-feng: optional)")
        parser.add_argument("--store", help="store code the records belong to, where needed")
        parser.add_argument("--associate", help="username of the associate (vcard)")
        parser.add_argument("--topic", help="Shopify topic, such as orders/create (shopify)")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        """Dispatch to the importer for the kind."""
        kind: str = options["kind"]
        file = Path(options["file"]) if options["file"] else None
        if kind != "ta-feng":
            if file is None:
                raise CommandError(f"import {kind} needs a FILE.")
            if not file.is_file():
                raise CommandError(f"{file}: no such file.")
        progress = not options["no_progress"] and sys.stderr.isatty()
        store = _store(options["store"])
        report = self._run(kind, file, store=store, options=options, progress=progress)
        self.stdout.write(report.render())
        if not report.ok:
            sys.exit(1)

    def _run(
        self,
        kind: str,
        file: Path | None,
        *,
        store: Store | None,
        options: dict[str, Any],
        progress: bool,
    ) -> ImportReport:
        if kind in ("clients", "products", "orders"):
            from extramile.ingest import csv_import

            importer = {
                "clients": csv_import.import_clients_csv,
                "products": csv_import.import_products_csv,
                "orders": csv_import.import_orders_csv,
            }[kind]
            assert file is not None
            return importer(file, store=store, progress=progress)
        if kind == "vcard":
            from extramile.ingest.vcard import import_vcard

            assert file is not None
            return import_vcard(file, store=store, associate=options["associate"])
        if kind == "shopify":
            from extramile.ingest.shopify import import_shopify_file

            assert file is not None
            return import_shopify_file(file, topic=options["topic"])
        from extramile.ingest.tafeng import import_ta_feng

        return import_ta_feng(path=file, progress=progress)
