"""Offline evaluations of Rapport's models and tools, their data and generators: kept out of
the production packages (not packaged)."""
