def test_post_then_get(client, api_key):
    r = client.post("/open311/v2/requests.json", data={"api_key": api_key, "service_code": "GRAF", "lat": "41.883637", "long": "-87.630231", "description": "Tag on wall"})
    assert r.status_code == 200, r.data
    number = r.json[0]["service_request_id"]
    r = client.get(f"/open311/v2/requests/{number}.json")
    assert r.json[0]["description"] == "Tag on wall"
    r = client.get(f"/open311/v2/requests/{number}.xml")
    assert b"Tag on wall" in r.data
