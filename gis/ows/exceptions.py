"""OWS 1.1 exception reports: every refused WFS request is answered with one (never a traceback)."""

from __future__ import annotations

from lxml import etree

OWS = "http://www.opengis.net/ows/1.1"
XML_MEDIA_TYPE = "application/xml"

# exceptionCode -> HTTP status (OGC 09-025r2, table 3; 4xx for every fault of the request)
STATUS = {"MissingParameterValue": 400, "InvalidParameterValue": 400, "OperationNotSupported": 400,
          "VersionNegotiationFailed": 400, "OptionNotSupported": 400, "NotFound": 404,
          "NoApplicableCode": 400}


class OwsError(Exception):
    """A request the service refuses: the OWS exception code, the parameter at fault and what to do."""

    def __init__(self, code: str, locator: str | None, text: str, status: int | None = None):
        super().__init__(text)
        self.code = code
        self.locator = locator
        self.text = text
        self.status = status or STATUS.get(code, 400)


def missing(name: str, hint: str = "") -> OwsError:
    return OwsError("MissingParameterValue", name, f"parameter {name} is required{hint}")


def invalid(name: str, text: str) -> OwsError:
    return OwsError("InvalidParameterValue", name, text)


def exception_report(error: OwsError, version: str = "2.0.0", lang: str = "en") -> bytes:
    """The ows:ExceptionReport document of `error`."""
    report = etree.Element(f"{{{OWS}}}ExceptionReport", nsmap={"ows": OWS}, version=version)
    report.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    exc = etree.SubElement(report, f"{{{OWS}}}Exception", exceptionCode=error.code)
    if error.locator:
        exc.set("locator", error.locator)
    etree.SubElement(exc, f"{{{OWS}}}ExceptionText").text = error.text
    return etree.tostring(report, xml_declaration=True, encoding="UTF-8")


OGC = "http://www.opengis.net/ogc"
WMS_EXCEPTION_TYPES = {"1.3.0": "text/xml", "1.1.1": "application/vnd.ogc.se_xml"}


def wms_status(error: OwsError) -> int:
    """The HTTP status a WMS exception report travels with. WMS 1.1.1 and 1.3.0 clients read a report only from a
    successful response - QGIS's WMS provider shows "server replied: Bad Request" for a 400 and never the report's
    text - so a refused request is answered 200 (as MapServer and GeoServer do), its media type telling it from an
    image; a refused key (401) and an outage (503) keep theirs."""
    return 200 if error.status in (400, 404) else error.status


def service_exception_report(error: OwsError, version: str = "1.3.0") -> bytes:
    """The WMS ServiceExceptionReport of `error` (1.3.0 in the ogc namespace, 1.1.1 without one)."""
    if version == "1.1.1":
        report = etree.Element("ServiceExceptionReport", version="1.1.1")
        exc = etree.SubElement(report, "ServiceException", code=error.code)
    else:
        report = etree.Element(f"{{{OGC}}}ServiceExceptionReport", nsmap={None: OGC}, version="1.3.0")
        exc = etree.SubElement(report, f"{{{OGC}}}ServiceException", code=error.code)
    if error.locator:
        exc.set("locator", error.locator)
    exc.text = error.text
    return etree.tostring(report, xml_declaration=True, encoding="UTF-8")
