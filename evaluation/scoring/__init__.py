"""Validity of the trust and loyalty scores on real customer histories (see README.md here).

``python -m evaluation.scoring.validity`` prints the table; needs the ``eval`` extra.
"""
