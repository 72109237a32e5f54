from django.shortcuts import render

from tickets.selectors import tickets_on_sale_by_event


def home(request):
    return render(request, "home.html", {"catalog": tickets_on_sale_by_event()})
