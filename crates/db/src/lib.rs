//! Connects to SQLite or PostgreSQL from one URL and runs the right migrations.
