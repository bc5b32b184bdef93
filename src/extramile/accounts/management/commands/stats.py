"""`extramile stats`: how much is in the database."""

import json
from typing import Any

from django.core.management.base import BaseCommand

from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Product, Variant
from extramile.clients.models import Client
from extramile.orders.models import Order, OrderLine


def collect_stats() -> dict[str, int]:
    """Count stores, associates, current clients, products, variants, orders and lines."""
    return {
        "stores": Store.objects.count(),
        "associates": User.objects.filter(role=Role.ASSOCIATE, is_active=True).count(),
        "clients": Client.objects.current().count(),
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "orders": Order.objects.count(),
        "order_lines": OrderLine.objects.count(),
    }


class Command(BaseCommand):
    """Print the counts, as a table or as one JSON object."""

    help = "Print counts of stores, associates, clients, products, variants, orders, lines."

    def add_arguments(self, parser: Any) -> None:
        """Accept --json."""
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the counts."""
        stats = collect_stats()
        if options["json"]:
            self.stdout.write(json.dumps(stats))
            return
        width = max(len(k) for k in stats)
        for key, value in stats.items():
            self.stdout.write(f"{key:<{width}}  {value:>10,}")
