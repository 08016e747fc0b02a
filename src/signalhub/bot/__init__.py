"""The Telegram bot: aiogram dispatcher, middlewares and one router per feature."""
