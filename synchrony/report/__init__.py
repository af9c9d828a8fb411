"""Figures and reports built from analysis tables."""
