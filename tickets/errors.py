from tedxpay.core.errors import ApplicationError


class TicketNotFound(ApplicationError):
    code = "ticket_not_found"
    status_code = 404
    default_message = "No such ticket."


class NotOnSale(ApplicationError):
    code = "not_on_sale"
    status_code = 409
    default_message = "This ticket is not on sale now."


class SoldOut(ApplicationError):
    code = "sold_out"
    status_code = 409
    default_message = "Not enough tickets left."
