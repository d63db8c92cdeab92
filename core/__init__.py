"""Plumbing every app shares and none owns: service errors and field checks,
numbers, the API base, form helpers, email, queueing, bulk writes.

The bottom layer: it imports no app (see README, "Architecture").
"""
