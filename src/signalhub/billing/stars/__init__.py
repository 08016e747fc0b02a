"""Telegram Stars payments: the same ledger and entitlement path as Stripe."""
