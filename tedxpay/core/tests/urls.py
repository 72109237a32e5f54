"""Views that fail on purpose, to test the error body and logging (tests only)."""

from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tedxpay.core.authentication import ApiKeyAuthentication, HasApiKey
from tedxpay.core.errors import Conflict


class EchoSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)


class EchoApi(APIView):
    def post(self, request):
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


class ConflictApi(APIView):
    def get(self, request):
        raise Conflict("Already taken.", details={"ticket_id": 7})


class CrashApi(APIView):
    def get(self, request):
        raise RuntimeError("boom")


class PrivateApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]

    def get(self, request):
        return Response({"key": request.auth.name})


def crashing_page(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("page/crash", crashing_page),
    path("api/echo", EchoApi.as_view()),
    path("api/conflict", ConflictApi.as_view()),
    path("api/crash", CrashApi.as_view()),
    path("api/private", PrivateApi.as_view()),
]

handler404 = "tedxpay.core.views.not_found"
handler500 = "tedxpay.core.views.server_error"
