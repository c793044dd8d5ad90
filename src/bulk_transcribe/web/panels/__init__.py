"""The panels pages are made of: each reads the store's state and acts through the service."""
