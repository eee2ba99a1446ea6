"""Evaluation of the sentiment annotator: the dev set and the blind test set."""
