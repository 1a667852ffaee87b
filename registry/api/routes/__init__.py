"""One APIRouter per resource; ``registry.api.app.create_app`` includes them in this order (= the OpenAPI order)."""
