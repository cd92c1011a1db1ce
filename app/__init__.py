"""Permission-checked CRUD over a business database, decided by Casbin."""
