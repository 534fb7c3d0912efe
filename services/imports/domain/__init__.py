"""Pure: what a form's submission asks of the services (:mod:`.commands`)."""
