"""Offline evaluations of Rapport's models; not part of the services (not packaged)."""
