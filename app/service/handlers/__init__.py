"""Webhook handlers, one module per event family; each exports a dispatch `Router` named `router`."""
