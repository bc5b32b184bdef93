"""Getting data in: CSV, vCard, Shopify webhooks and files, and the Ta-Feng store."""
