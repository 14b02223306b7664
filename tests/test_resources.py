from hoister.resources import resource_path


def test_app_icon_is_found_from_a_checkout() -> None:
    icon = resource_path("icons/hoister.svg")
    assert icon is not None
    assert icon.read_text().startswith("<svg")
    assert resource_path("icons/missing.svg") is None
