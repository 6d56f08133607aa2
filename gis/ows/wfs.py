"""WFS 2.0.0 (KVP GET, read-only): GetCapabilities, DescribeFeatureType and GetFeature on top of the feature
store's reads (`fetch_items`), so a WFS client sees the same features, fields and counts as OGC API - Features:
public layers and fields for anonymous callers, private ones with a key that reads them, `?city=` scope."""

from __future__ import annotations

import json
from collections.abc import Mapping

from gis.core.crs import supported
from gis.core.errors import InvalidInput, NotFound
from gis.data.features import MAX_LIMIT
from gis.ows import capabilities as caps
from gis.ows import gml
from gis.ows.exceptions import OwsError, invalid, missing
from gis.ows.getfeature import get_feature
from gis.ows.request import (
    JSON_MEDIA_TYPE,
    XSD_MEDIA_TYPE,
    Request,
    WfsAnswer,
    WfsContext,
    check_version,
    fields_of,
    output_format,
    parse_request,
    type_names,
    url_for,
)


def handle(params: Mapping[str, str], ctx: WfsContext) -> WfsAnswer:
    """Answer one KVP request; raises OwsError for anything the request got wrong."""
    req = parse_request(params, ctx)
    service = req.get("service")
    operation = req.get("request")
    if operation is None:
        raise missing("request", ": GetCapabilities, DescribeFeatureType or GetFeature")
    if service is None and operation.lower() != "getcapabilities":
        raise missing("service", " (service=WFS)")
    if service is not None and service.upper() != "WFS":
        raise invalid("service", f"service {service[:40]!r} is not offered here; use service=WFS")
    handlers = {"getcapabilities": get_capabilities, "describefeaturetype": describe_feature_type,
                "getfeature": get_feature}
    handler = handlers.get(operation.lower())
    if handler is None:
        raise OwsError("OperationNotSupported", "request",
                       f"operation {operation[:40]!r} is not supported; this read-only WFS offers "
                       f"{', '.join(caps.OPERATIONS)}")
    if handler is not get_capabilities:
        check_version(req.get("version"))
    try:
        return handler(req, ctx)
    except InvalidInput as exc:  # refused by the feature store in a way no parameter check above foresaw
        raise OwsError("InvalidParameterValue", None, exc.detail) from None
    except NotFound as exc:
        raise OwsError("NotFound", None, exc.detail) from None


# --- GetCapabilities -----------------------------------------------------------------------------------------------

def get_capabilities(req: Request, ctx: WfsContext) -> WfsAnswer:
    accept = req.get("acceptversions")
    if accept and "2.0.0" not in [v.strip() for v in accept.split(",")]:
        raise OwsError("VersionNegotiationFailed", "AcceptVersions",
                       f"none of the versions {accept[:60]!r} is offered; this service speaks WFS 2.0.0 only")
    if req.get("version") and not accept:  # a client asking for 1.1.0 learns that only 2.0.0 is spoken
        check_version(req.get("version"))
    layers = ctx.catalog.visible(ctx.who)
    stats = ctx.catalog.stats(layers, req.cities)
    other = tuple(dict.fromkeys(s.srid for s in supported(req.metric_srid) if s.srid != 4326))
    url = url_for(ctx, req)
    info = caps.ServiceInfo(req.city_name, url if url.endswith("?") else f"{url}&", req.lang, other, MAX_LIMIT)
    body = caps.capabilities(info, [(layer, stats[layer.id].bbox) for layer in layers])
    return WfsAnswer(body, "application/xml")


# --- DescribeFeatureType ---------------------------------------------------------------------------------------------

def describe_feature_type(req: Request, ctx: WfsContext) -> WfsAnswer:
    layers = type_names(req, ctx, required=False)
    fmt = output_format(req.get("outputformat"))
    types = [(layer, fields_of(layer, ctx.who)) for layer in layers]
    if fmt == "json":
        doc = {"elementFormDefault": "qualified", "targetNamespace": gml.NS, "targetPrefix": gml.PREFIX,
               "featureTypes": [{"typeName": layer.id, "properties": [
                   {"name": gml.GEOMETRY, "maxOccurs": 1, "minOccurs": 0, "nillable": True,
                    "type": gml.GEOMETRY_PROPERTY_TYPES.get(layer.geometry_type, "gml:GeometryPropertyType"),
                    "localType": layer.geometry_type},
                   *({"name": f.name, "maxOccurs": 1, "minOccurs": 0, "nillable": True,
                      "type": gml.XSD_TYPES.get(f.type, "xsd:string"), "localType": f.type} for f in fields)]}
                   for layer, fields in types]}
        return WfsAnswer(json.dumps(doc).encode(), JSON_MEDIA_TYPE)
    return WfsAnswer(gml.application_schema(types), XSD_MEDIA_TYPE)
