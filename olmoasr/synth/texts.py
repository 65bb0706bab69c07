"""Texts for synthetic speech, all written for olmoasr (no third-party prose).

`PARAGRAPHS` feed the packaged sample shard (mixed case, punctuation, one caption per sentence);
`GERMAN` and `SPANISH` feed its non-English pairs; `sentence_generator` writes an unlimited stream of
simple English sentences from word lists and templates for the larger training corpus.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

PARAGRAPHS: dict[str, list[str]] = {
    "bakery": [
        "Every morning the baker opens her small shop before the sun comes up.",
        "She mixes flour, water and salt in a large wooden bowl.",
        "The dough rests for an hour while the oven slowly warms.",
        "Then she shapes the loaves by hand and dusts them with flour.",
        "Customers begin to queue outside long before the door is unlocked.",
        "Most of them buy a dark rye loaf and a few sweet rolls.",
        "By noon the shelves are empty and the kitchen is quiet again.",
        "In the afternoon she writes down new recipes in a worn notebook.",
    ],
    "lighthouse": [
        "The old lighthouse stands on a rocky island far from the coast.",
        "For many years a keeper lived there with his family and a dog.",
        "Each evening he climbed the narrow stairs to light the great lamp.",
        "Ships passing in the dark relied on its steady white beam.",
        "During storms the waves crashed against the walls with terrible force.",
        "Today the light runs by itself and nobody lives on the island.",
        "Visitors can take a boat there on calm days in the summer.",
        "From the top they can see seals resting on the rocks below.",
    ],
    "garden": [
        "Our neighbour has turned her back yard into a vegetable garden.",
        "She grows tomatoes, beans, carrots and several kinds of lettuce.",
        "In the spring she plants the seeds in small pots on the window sill.",
        "When the nights are warm enough she moves the young plants outside.",
        "Birds sometimes steal the seeds, so she covers the beds with a net.",
        "She waters everything early in the morning before work.",
        "At the end of the summer she gives away baskets of fresh food.",
        "Last year her pumpkins were bigger than a bicycle wheel.",
    ],
    "train": [
        "The night train leaves the city at a quarter past ten.",
        "Passengers find their cabins and put their bags under the beds.",
        "A friendly guard walks through the carriages checking tickets.",
        "Outside the window the lights of small towns flash past.",
        "Most people fall asleep soon after the train crosses the river.",
        "In the morning they wake up among green hills and quiet farms.",
        "Breakfast is served with hot coffee and warm bread.",
        "The journey takes eleven hours, but it feels much shorter.",
    ],
    "library": [
        "The public library in our town was built more than a century ago.",
        "Its reading room has tall windows and long oak tables.",
        "Students come here after school to do their homework in peace.",
        "On Saturday mornings a volunteer reads stories to young children.",
        "The librarians can help you find almost any book you need.",
        "If a book is missing, they will order it from another library.",
        "There is also a small collection of old maps and letters.",
        "Many people say it is the calmest place in the whole town.",
    ],
    "bees": [
        "A honey bee visits hundreds of flowers on a single trip.",
        "She collects nectar and pollen and carries them back to the hive.",
        "Inside the hive other bees turn the nectar into honey.",
        "The queen lays eggs while the workers feed and clean the young.",
        "Bees talk to each other with a special dance on the comb.",
        "The dance tells the others where the best flowers can be found.",
        "In winter the colony huddles together to keep warm.",
        "Without bees many fruits and vegetables would be hard to grow.",
    ],
    "river": [
        "The river begins as a tiny stream high up in the mountains.",
        "It grows wider as it collects water from melting snow.",
        "Further down it turns a wheel that once powered a flour mill.",
        "Families often have picnics on the grassy banks in July.",
        "Children throw stones and watch the circles spread across the water.",
        "Fishermen sit patiently under the willow trees all afternoon.",
        "After heavy rain the river can rise very quickly.",
        "Finally it reaches the sea next to a busy harbour town.",
    ],
    "moon": [
        "The moon is the only natural satellite of our planet.",
        "It takes about four weeks to travel once around the earth.",
        "We always see the same side of the moon from the ground.",
        "Its surface is covered with dust, rocks and deep craters.",
        "Astronauts first walked there more than fifty years ago.",
        "They brought back samples of rock for scientists to study.",
        "The pull of the moon causes the tides in the oceans.",
        "On a clear night you can see its mountains with simple binoculars.",
    ],
    "bicycle": [
        "Last summer my brother and I rode our bicycles along the coast.",
        "We carried a small tent, two sleeping bags and a camping stove.",
        "Each day we cycled about sixty kilometres through small villages.",
        "The hardest part was a long climb over a windy headland.",
        "At night we camped in fields with the permission of the farmers.",
        "One evening a kind family invited us to share their dinner.",
        "We ate fresh fish, potatoes and a salad from their garden.",
        "It was the best holiday we have ever had together.",
    ],
    "weather": [
        "The weather on the island changes many times a day.",
        "A sunny morning can turn into a grey and rainy afternoon.",
        "Local people always carry a warm jacket, even in August.",
        "Fog often rolls in from the sea without any warning.",
        "When the wind blows from the north the air feels very cold.",
        "Fishermen watch the clouds closely before they leave the harbour.",
        "Some say they can smell a storm coming hours before it arrives.",
        "Visitors quickly learn to enjoy every bright moment they get.",
    ],
    "kitchen": [
        "My grandmother taught me how to make soup from whatever is left.",
        "First you chop an onion and soften it in a little butter.",
        "Then you add carrots, celery and a few potatoes.",
        "Cover everything with water and let it simmer gently.",
        "After half an hour the vegetables should be soft.",
        "Season the soup with salt, pepper and fresh herbs.",
        "She always served it with thick slices of brown bread.",
        "Even on the coldest days that soup kept the whole family warm.",
    ],
    "harbour": [
        "The harbour wakes up long before the rest of the town.",
        "Fishing boats return with their catch just after dawn.",
        "Gulls circle above the nets and call to each other.",
        "Workers load boxes of fish onto small white vans.",
        "Tourists arrive later to watch the ferries come and go.",
        "A narrow path leads from the harbour to the old castle.",
        "In the evening the water reflects the coloured lights of the cafes.",
        "Sailors say the harbour is the safest one on this coast.",
    ],
    "museum": [
        "The museum opened a new room about ancient clocks this spring.",
        "Some of the clocks are more than three hundred years old.",
        "One of them plays a short tune every hour.",
        "A guide explains how the springs and wheels work together.",
        "Children are allowed to wind up a large copy of a clock.",
        "The most famous piece was made for a king in the north.",
        "Entry to the museum is free on the first Sunday of the month.",
        "The cafe on the top floor has a lovely view over the park.",
    ],
    "snow": [
        "It snowed all night, and by morning the streets were white.",
        "The schools stayed closed, so the children built a snowman.",
        "Their parents cleared the paths with shovels and brooms.",
        "A red fox left a line of small footprints across the field.",
        "In the afternoon the sky cleared and the sun came out.",
        "Everything sparkled as if it were covered in tiny diamonds.",
        "By evening the temperature dropped well below freezing.",
        "We sat by the fire and drank hot chocolate until bedtime.",
    ],
}

GERMAN: list[str] = [
    "Am Morgen gehen wir gemeinsam zum Markt in der Altstadt.",
    "Dort kaufen wir frisches Brot, Käse und einen Korb voller Äpfel.",
    "Die Händler rufen laut und preisen ihre Waren an.",
    "Nach dem Einkauf trinken wir einen Kaffee am Brunnen.",
    "Am Nachmittag fahren wir mit dem Fahrrad an den See.",
    "Das Wasser ist klar und noch ziemlich kalt.",
]

SPANISH: list[str] = [
    "Mi abuela vive en un pueblo pequeño cerca de las montañas.",
    "Cada verano la visitamos con toda la familia.",
    "Por las mañanas caminamos hasta el río para buscar agua fresca.",
    "Por las tardes ella cocina una sopa deliciosa con verduras del huerto.",
    "Después de la cena nos cuenta historias de su juventud.",
    "Nunca olvidaré aquellas noches llenas de estrellas.",
]


def _words(text: str) -> list[str]:
    return text.split()


def _phrases(text: str) -> list[str]:
    return text.split("|")


# Word lists for the generated corpus: short, common words with unambiguous spellings and no digits,
# so a small model trained on a few thousand utterances can learn the mapping.
_SUBJECTS = _phrases(
    "the farmer|the teacher|my sister|our neighbour|the old man|a young girl|the doctor|the driver|my friend|"
    "the children|the painter|his mother|the pilot|a small boy|the captain|her father|the baker|the students|"
    "the nurse|a tall woman"
)
_NAMES = _words("Anna Peter Maria John Lucy Tom Emma David Sarah James Laura Mark")
_VERBS_PAST = _words(
    "found painted carried opened cleaned bought sold lost fixed washed visited watched moved closed filled "
    "dropped counted borrowed built packed"
)
_VERBS = _words(
    "find paint carry open clean buy sell fix wash visit watch move close fill count borrow build pack read cook"
)
_ADJECTIVES = _words(
    "red green blue yellow small large heavy empty broken wooden quiet bright warm cold old new long short clean dark"
)
_NOUNS = _words(
    "box chair table window door basket bottle letter garden kitchen bicycle boat bridge lamp book coat cup fence "
    "ladder map"
)
_NOUNS_PLURAL = _words(
    "apples books boxes chairs letters bottles flowers stones shoes cups plates coins candles keys birds eggs "
    "shells tickets pencils buttons"
)
_PLACES = _phrases(
    "the station|the market|the river|the school|the harbour|the park|the village|the library|the farm|the beach|"
    "the hill|the forest|the church|the shop|the bakery"
)
_PREPOSITIONS = _phrases("near|behind|inside|next to|outside|under|beside|across from")
_TIMES = _phrases(
    "this morning|last night|on Monday|on Friday|in the evening|after lunch|before dinner|yesterday|every day|"
    "last week|in the spring|at noon|on Sunday|in the winter"
)
_ADVERBS = _words("slowly quickly carefully quietly happily early late again together often")
_NUMBERS = _words("two three four five six seven eight nine ten twelve twenty")

_TEMPLATES = [
    "{subject} {verb_past} the {adj} {noun} {prep} {place}.",
    "{name} {verb_past} {number} {nouns} {time}.",
    "Did {subject} {verb} the {adj} {noun} {time}?",
    "We will {verb} the {noun} {prep} {place} {time}.",
    "{name} and {name2} walked {adverb} to {place}.",
    "There are {number} {adj} {nouns} {prep} {place}.",
    "{subject} {verb_past} {adverb} and then went to {place}.",
    "Please {verb} the {adj} {noun} before {name} arrives.",
    "{time}, {subject} {verb_past} a {adj} {noun}.",
    "Why did {name} {verb} the {nouns} {time}?",
    "{subject} never {verb_past} the {noun} {prep} {place}.",
    "I think {name} {verb_past} {number} {adj} {nouns}.",
]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def generated_sentence(rng: random.Random) -> str:
    """One English sentence from the templates above (mixed case, final punctuation)."""
    template = rng.choice(_TEMPLATES)
    name, name2 = rng.sample(_NAMES, 2)
    sentence = template.format(
        subject=rng.choice(_SUBJECTS),
        name=name,
        name2=name2,
        verb_past=rng.choice(_VERBS_PAST),
        verb=rng.choice(_VERBS),
        adj=rng.choice(_ADJECTIVES),
        noun=rng.choice(_NOUNS),
        nouns=rng.choice(_NOUNS_PLURAL),
        place=rng.choice(_PLACES),
        prep=rng.choice(_PREPOSITIONS),
        time=rng.choice(_TIMES),
        adverb=rng.choice(_ADVERBS),
        number=rng.choice(_NUMBERS),
    )
    return _capitalise(sentence)


def sentence_generator(seed: int) -> Iterator[str]:
    """An endless stream of distinct generated sentences (repeats are skipped), reproducible from `seed`."""
    rng = random.Random(seed)
    seen: set[str] = set()
    misses = 0
    while misses < 10_000:
        sentence = generated_sentence(rng)
        if sentence in seen:
            misses += 1
            continue
        misses = 0
        seen.add(sentence)
        yield sentence


def vocabulary() -> set[str]:
    """Every lower-case word the generator can produce (tests and corpus statistics)."""
    words: set[str] = set()
    groups = (_SUBJECTS, _NAMES, _VERBS_PAST, _VERBS, _ADJECTIVES, _NOUNS, _NOUNS_PLURAL, _PLACES)
    for group in (*groups, _PREPOSITIONS, _TIMES, _ADVERBS, _NUMBERS, _TEMPLATES):
        for item in group:
            for word in item.replace("{", " {").split():
                if not word.startswith("{"):
                    words.add(word.strip(".,?").lower())
    return words
