"""Breach to revert: find the culprit change, plan the revert pull request (or the conflict issue)."""
