"""Figures: chart data computed from results (no matplotlib; also JSON for the page), and the matplotlib drawing."""
