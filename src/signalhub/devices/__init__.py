"""Devices: the Expert Advisors (MT5 terminals) a trader registers, and the signed EA API."""
