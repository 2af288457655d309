"""Kehu CRM: customer relationship management for small and medium enterprises."""
