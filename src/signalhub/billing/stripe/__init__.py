"""Stripe payments: webhook verification, event handlers, the API client and reconciliation."""
