"""One router per feature; `bot.dispatcher.ROUTER_FACTORIES` lists them in matching order."""
