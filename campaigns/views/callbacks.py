"""What BSG calls: the delivery statuses it pushes to a send's callback URL (issue 16).

No person signs in here: the secret in the path is the authentication (BSG cannot sign its
calls), compared in constant time. The view stores what came and answers at once; a worker
applies it to the ledger (campaigns.engine.delivery_reports).
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..engine.delivery_reports import ReportsRefused, callback_token_valid, delivery_reports_store


@csrf_exempt
@login_not_required
@require_POST
def bsg_status_callback(request: HttpRequest, token: str) -> JsonResponse:
    if not callback_token_valid(token):
        # As for any path that does not exist: a wrong token learns nothing.
        return JsonResponse({"error": "Not found."}, status=404)
    limit = settings.BSG_CALLBACK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return JsonResponse({"error": f"The body is over {limit} bytes."}, status=413)
    # Read at most one byte past the cap, whatever the header said (or did not say).
    body = request.read(limit + 1)
    if len(body) > limit:
        return JsonResponse({"error": f"The body is over {limit} bytes."}, status=413)
    try:
        outcome = delivery_reports_store(body=body)
    except ReportsRefused as refused:
        return JsonResponse({"error": str(refused)}, status=400)
    return JsonResponse({"received": outcome.received, "skipped": outcome.skipped})
