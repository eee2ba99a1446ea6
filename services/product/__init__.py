"""Rapport as a product on one machine: ``rapport up``/``down``/``status``, ``send``,
``simulate``, ``watch`` and ``report``."""
