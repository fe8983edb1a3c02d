"""The questions (GeoReport attributes) of the Chicago demo services.

Where the City published a question, its code, wording and option keys are
kept as published and `source` says where they were found. Chicago's codes
are 8-character mnemonics of the question (WHEREIST = "where is the…"); the
codes, wording and keys marked "ours" follow that style but were made up here.
Paths without a repository are in shared/chicago311.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# The City's own service definitions (pothole, tree debris), as fetched from
# test311api.cityofchicago.org and kept in a student project's docs.
CITY_DEFINITIONS = "ChicagoAssistant/chicago-assistant:requests_311"
OPEN311_2014 = "samples/open311_2014_requests_with_activity_notes.json"
LIST_DATATYPES = frozenset({"singlevaluelist", "multivaluelist"})


@dataclass(frozen=True)
class Question:
    code: str
    datatype: str
    description: str
    required: bool
    source: str
    values: tuple[tuple[str, str], ...] = ()
    datatype_description: str | None = None
    min: float | None = None
    max_length: int | None = None

    def __post_init__(self) -> None:
        if (self.datatype in LIST_DATATYPES) != bool(self.values):
            raise ValueError(f"{self.code}: options belong to the list datatypes only")


POTHOLE = (
    Question(
        code="WHEREIST",
        datatype="singlevaluelist",
        description="Where is the pothole located?",
        required=True,
        values=(
            ("BIKE", "Bike Lane"),
            ("CROSS", "Crosswalk"),
            ("CURB", "Curb Lane"),
            ("INTERSEC", "Intersection"),
            ("TRAFFIC", "Traffic Lane"),
        ),
        source=f"the City's definition, {CITY_DEFINITIONS}/README.md @28899a3d; "
        f"WHEREIST=TRAFFIC in {OPEN311_2014}",
    ),
    Question(
        code="HOWMANYP",
        datatype="number",
        description="How many potholes are there on this block?",
        required=False,
        min=1,
        source="ours, after the legacy column 'Number of Potholes Filled on Block' "
        "(legacy/legacy_pot-holes_sample.csv)",
    ),
)

ABANDONED_VEHICLE = (
    Question(
        code="FQSKA1",
        datatype="string",
        description="What is the vehicle's make and model?",
        required=False,
        max_length=60,
        source=f"code FQSKA1 with a make ('TOYT') in {OPEN311_2014}; legacy column "
        "'Vehicle Make/Model'. The City used coded makes; we accept free text",
    ),
    Question(
        code="FQSKA3",
        datatype="singlevaluelist",
        description="What color is the vehicle?",
        required=True,
        values=(
            ("WHI", "White"),
            ("BLK", "Black"),
            ("BLU", "Blue"),
            ("RED", "Red"),
            ("GRY", "Gray"),
            ("GRN", "Green"),
            ("SIL", "Silver"),
            ("MAR", "Maroon"),
            ("BUR", "Burgundy"),
            ("GLD", "Gold"),
            ("TAN", "Tan"),
            ("BRO", "Brown"),
            ("BGE", "Beige"),
            ("PUR", "Purple"),
            ("YEL", "Yellow"),
            ("CRM", "Cream"),
            ("BRZ", "Bronze"),
            ("ORG", "Orange"),
            ("TRQ", "Turquoise"),
            ("MUL", "Multi-Color"),
            ("UNK", "Unknown"),
        ),
        source=f"code FQSKA3 with 'BLU' in {OPEN311_2014}; color names from the "
        "legacy column 'Vehicle Color' (legacy/legacy_abandoned-vehicles_sample.csv); "
        "keys other than BLU ours",
    ),
    Question(
        code="FQSKA4",
        datatype="string",
        description="What is the license plate number, if you can see it?",
        required=False,
        max_length=20,
        source=f"code FQSKA4 with a plate number in {OPEN311_2014}; legacy column 'License Plate'",
    ),
    Question(
        code="HOWMANYD",
        datatype="number",
        description="How many days has the vehicle been parked there?",
        required=False,
        min=0,
        datatype_description="Days",
        source=f"code HOWMANYD with 42 in {OPEN311_2014}; legacy column "
        "'How Many Days Has the Vehicle Been Reported as Parked?'",
    ),
)

GRAFFITI = (
    Question(
        code="WHEREIS1",
        datatype="singlevaluelist",
        description="Where is the graffiti located?",
        required=True,
        values=(
            ("FRONT", "Front"),
            ("SIDE", "Side"),
            ("REAR", "Rear"),
            ("GARAGE", "Garage"),
            ("ALLEY", "Alley"),
            ("DOOR", "Door"),
            ("FENCE", "Fence"),
            ("POLE", "Pole"),
            ("SIGN", "Sign"),
            ("TRAFFBOX", "Traffic Control Box"),
            ("MAILBOX", "Mail Box"),
            ("NEWSBOX", "Newspaper Box"),
            ("GARBCART", "Garbage Cart"),
            ("BENCH", "Bench"),
            ("DUMPSTER", "Dumpster"),
        ),
        source="options: legacy column 'Where is the Graffiti located?' "
        "(legacy/legacy_graffiti-removal_sample.csv); code WHEREIS1 and key FRONT as "
        "posted to the City's Open311 API by third-party clients in the code index "
        "(repository not identified: unverified); other keys ours",
    ),
    Question(
        code="WHATTYP2",
        datatype="singlevaluelist",
        description="What type of surface is the graffiti on?",
        required=True,
        values=(
            ("BRICKUNP", "Brick - Unpainted"),
            ("BRICKPNT", "Brick - Painted"),
            ("ALUMSID", "Aluminum Siding"),
            ("VINYLSID", "Vinyl Siding"),
            ("WOODPNT", "Wood - Painted"),
            ("WOODUNP", "Wood - Unpainted"),
            ("METAL", "Metal"),
            ("METALPNT", "Metal - Painted"),
            ("METALUNP", "Metal - Unpainted"),
            ("CEMENT", "Cement (Sidewalk, Alley, Wall, Curb)"),
            ("ASPHALT", "Asphalt"),
            ("GLASS", "Glass"),
            ("LIMESTON", "Limestone"),
            ("MARBLE", "Marble/Granite"),
            ("STUCCO", "Stucco"),
            ("UNK", "Other / Unknown Surface"),
        ),
        source="options: legacy column 'What Type of Surface is the Graffiti on?' "
        "(legacy/legacy_graffiti-removal_sample.csv); code WHATTYP2 and key UNK as "
        "posted by the same unidentified third-party clients; other keys ours",
    ),
)

RODENTS = (
    Question(
        code="DOYOUWAN",
        datatype="singlevaluelist",
        description="Do you want the City to bait your back yard?",
        required=True,
        values=(
            ("BAITBYAR", "Bait Back Yard"),
            ("NOTOBAIT", "No"),
        ),
        source=f"code and options: {CITY_DEFINITIONS}/service_types.yml @010e8e9f; "
        "question wording ours, from the options",
    ),
    Question(
        code="RATSSEEN",
        datatype="multivaluelist",
        description="Where have you seen rats or signs of rats?",
        required=False,
        values=(
            ("ALLEY", "Alley"),
            ("YARD", "Yard"),
            ("GARAGE", "Garage"),
            ("CARTS", "Garbage carts or dumpsters"),
            ("BURROWS", "Burrows in the ground"),
            ("INSIDE", "Inside a building"),
        ),
        source="ours, after the legacy columns 'Number of Premises with Rats' and "
        "'Number of Premises with Garbage' (legacy/legacy_rodent-baiting_sample.csv)",
    ),
)

STREET_LIGHT = (
    Question(
        code="ISTHELI2",
        datatype="singlevaluelist",
        description="Is the light completely out, or does it go on and off?",
        required=True,
        values=(
            ("COMPLETE", "Completely Out"),
            ("ONOFF", "On and Off"),
        ),
        source=f"code and options: {CITY_DEFINITIONS}/service_types.yml @010e8e9f; "
        f"ISTHELI2=COMPLETE in {OPEN311_2014}",
    ),
    Question(
        code="WHENOUT",
        datatype="datetime",
        description="When did you first notice the light out?",
        required=False,
        source="ours",
    ),
)

ALLEY_LIGHT = (
    Question(
        code="HOWMANYL",
        datatype="number",
        description="How many lights are out?",
        required=True,
        min=1,
        source="ours, after the City's service description, which asks how many "
        f"lights are out ({CITY_DEFINITIONS}/docs/services.json @43a77fed)",
    ),
    Question(
        code="ISTHELI2",
        datatype="singlevaluelist",
        description="Are the lights completely out, or do they blink on and off?",
        required=True,
        values=(
            ("COMPLETE", "Completely Out"),
            ("ONOFF", "On and Off"),
        ),
        source="the same City description; code and options borrowed from the "
        "City's Street Light Out question",
    ),
)

TREE_DEBRIS = (
    Question(
        code="ISTHEAMO",
        datatype="singlevaluelist",
        description="Where is the debris located?",
        required=True,
        values=(("ALLEY", "Alley"), ("PARKWAY", "Parkway"), ("VACNTLOT", "Vacant Lot")),
        source="the City's definition, "
        f"{CITY_DEFINITIONS}/docs/example_service_detail.json "
        "@43a77fed; legacy column 'If Yes, where is the debris located?'",
    ),
)

TREE_EMERGENCY = (
    Question(
        code="HAZARDS",
        datatype="multivaluelist",
        description="What is the fallen tree or branch blocking or touching?",
        required=True,
        values=(
            ("STREET", "Street"),
            ("SIDEWALK", "Sidewalk"),
            ("ALLEY", "Alley"),
            ("WIRES", "Power or utility wires"),
            ("BUILDING", "House or building"),
            ("VEHICLE", "Vehicle"),
        ),
        source="ours",
    ),
)

SANITATION = (
    Question(
        code="NATUREOF",
        datatype="singlevaluelist",
        description="What is the nature of this code violation?",
        required=True,
        values=(
            ("GARBALLY", "Garbage in alley"),
            ("GARBYARD", "Garbage in yard"),
            ("DUMPSTER", "Dumpster not being emptied"),
            ("OVERCART", "Overflowing carts"),
            ("DOGFECES", "Dog feces in yard"),
            ("CONSTSIT", "Construction Site Cleanliness/Fence"),
            ("GRAFVEH", "Graffiti Commercial Vehicle"),
            ("STANDWAT", "Standing water"),
            ("OTHER", "Other"),
        ),
        source="question and options: legacy column 'What is the Nature of this Code "
        "Violation?' (legacy/legacy_sanitation-code_sample.csv); code and keys ours",
    ),
)

BUILDING = (
    Question(
        code="WHATISTH",
        datatype="text",
        description="What is the problem? Describe what you saw.",
        required=True,
        max_length=2000,
        source=f"code WHATISTH with residents' own words in {OPEN311_2014} "
        "(Building Violation); question wording ours",
    ),
    Question(
        code="OWNEROC1",
        datatype="singlevaluelist",
        description="Does the owner live in the building?",
        required=False,
        values=(
            ("YES", "Yes"),
            ("NO", "No"),
        ),
        source=f"code and YES/NO keys in {OPEN311_2014}; meaning (owner-occupied) "
        "inferred by us from the mnemonic",
    ),
    Question(
        code="GIVEPREC",
        datatype="string",
        description="Where exactly in the building is the problem (floor, unit, rear)?",
        required=False,
        max_length=100,
        source=f"code GIVEPREC with answers such as '2nd fl' in {OPEN311_2014}; "
        "meaning (precise location) inferred by us from the mnemonic",
    ),
)

GARBAGE_CART = (
    Question(
        code="HOWMANYC",
        datatype="number",
        description="How many carts need repair or replacement?",
        required=True,
        min=1,
        source="ours, after the legacy column 'Number of Black Carts Delivered' "
        "(legacy/legacy_garbage-carts_sample.csv)",
    ),
    Question(
        code="CARTPROB",
        datatype="singlevaluelist",
        description="What is wrong with the cart?",
        required=False,
        values=(
            ("LID", "Lid broken or missing"),
            ("WHEELS", "Wheels or axle broken"),
            ("CRACKED", "Cart cracked or leaking"),
            ("MISSING", "Cart stolen or missing"),
        ),
        source="ours",
    ),
)

NO_HEAT = (
    Question(
        code="WHENHEAT",
        datatype="datetime",
        description="When did the heat stop working?",
        required=True,
        source="ours",
    ),
    Question(
        code="HOWMANYU",
        datatype="number",
        description="How many units in the building are without heat?",
        required=False,
        min=1,
        source="ours",
    ),
    Question(
        code="ENTRYNOT",
        datatype="text",
        description=("How can the inspector get in? For example: call first, door bell broken."),
        required=False,
        max_length=500,
        source="ours: the most common resident notes in "
        "samples/no_heat_complaints_2020_foia.csv are about entry "
        "('contact caller prior to coming out for entry', 'no working door bells')",
    ),
)

ATTRIBUTES: Final[dict[str, tuple[Question, ...]]] = {
    "PHF": POTHOLE,
    "SKA": ABANDONED_VEHICLE,
    "GRAF": GRAFFITI,
    "SGA": RODENTS,
    "SFD": STREET_LIGHT,
    "SFA": ALLEY_LIGHT,
    "SEL": TREE_DEBRIS,
    "SEC": TREE_EMERGENCY,
    "SCB": SANITATION,
    "BBA": BUILDING,
    "SIE": GARBAGE_CART,
    "NO_HEAT": NO_HEAT,
}
