"""Reminders (提醒) and nudges (催办): the system tells each person what is due, late or waiting for them."""
