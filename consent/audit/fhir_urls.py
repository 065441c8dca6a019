from consent.audit.fhir_views import RESOURCES

urlpatterns = [pattern for resource in RESOURCES for pattern in resource.urls()]
