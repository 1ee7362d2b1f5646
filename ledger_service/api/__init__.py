"""The REST face: FastAPI app assembled from each capability's router."""
