"""Subscriptions, and notifications delivered through a transactional outbox."""
