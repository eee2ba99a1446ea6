"""Sentiment: customer text -> exact VADER, CX-adjusted sentiment, emotions and aspects.

Importing the package picks the build of its hot modules (compiled or pure Python) before any
of them loads; see :mod:`services.sentiment.native`.
"""

from services.sentiment.native import select

select()
