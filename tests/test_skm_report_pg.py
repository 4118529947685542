"""The SKM report on PostgreSQL (the centre): the domain's figures, profile, masked
suggestions and sample, and the PDF over HTTP, collected again on that database."""
import pytest

from .test_ikm_report_http import (  # noqa: F401
    sheets,
    test_the_public_page_shows_figures_and_never_the_sheets,
    test_the_report_pdf_for_the_halls_supervisor,
)
from .test_skm_report import *  # noqa: F401,F403

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app):
    return pg_app
