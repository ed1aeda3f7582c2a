/* The built-in calibration texts of `emb convert --dtype int8`
 * (cv_calibrate): what an embedding model is fed in practice, as varied
 * as a short list can be — questions and search queries, passages of
 * several lengths, other languages and scripts, code, numbers, URLs and
 * markup, very short inputs, whitespace and the empty string. The int8
 * writer keeps in fp32 the input features of each Linear layer that reach
 * the largest |x| over these texts; those features (a handful of "massive
 * activation" channels per model) show on almost any input, so the list
 * needs variety, not size. Changing it changes the bytes of every int8 file
 * converted afterwards. */
#include <stddef.h>

#include "convert/convert.h"

const char *const cv_calibration_texts[] = {
    /* the empty text and near-empty ones: [CLS][SEP] alone is where the
     * outlier features matter most */
    "",
    " ",
    "a",
    "?",
    "OK",
    "hello",
    "Yes.",
    "42",
    /* questions and search queries */
    "what is the capital of france",
    "How do I reset my password if I no longer have access to my email?",
    "best way to learn python for data analysis",
    "Why is the sky blue during the day but red at sunset?",
    "symptoms of vitamin D deficiency in adults",
    "how many calories should I eat to lose weight",
    "Who wrote the novel One Hundred Years of Solitude?",
    "difference between a virus and a bacterium",
    "cheap flights from london to new york in december",
    "What does the error 'segmentation fault (core dumped)' mean?",
    "is it safe to drink tap water in Mexico City",
    "When did the Berlin Wall fall and why?",
    "query: how to make sourdough bread at home",
    "passage: Sourdough bread is made by fermenting dough with wild yeast and lactic acid bacteria.",
    "weather tomorrow",
    "GDP of Japan 2023",
    /* short passages */
    "The mitochondria is the powerhouse of the cell, producing ATP through oxidative "
    "phosphorylation.",
    "Paris is the capital and most populous city of France, with an estimated population of "
    "2.1 million residents.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The quick brown fox jumps over the lazy dog.",
    "Our support team is available Monday to Friday, 9am to 5pm Eastern Time.",
    "This product has been discontinued. Please see the replacement model below.",
    "I absolutely loved this movie! The acting was superb and the soundtrack gave me chills.",
    "Terrible service. We waited over an hour and the food arrived cold.",
    "Add the flour gradually, stirring constantly to avoid lumps, then simmer for ten minutes.",
    "Shares of the company fell 7% in after-hours trading after it missed revenue estimates.",
    "The patient presented with acute chest pain radiating to the left arm and shortness of "
    "breath.",
    "Section 3.2: The licensee shall not sublicense, sell, or otherwise transfer the software "
    "without prior written consent.",
    /* longer passages */
    "The Industrial Revolution, which began in Great Britain in the late eighteenth century, "
    "marked a turning point in human history. Almost every aspect of daily life was influenced "
    "in some way. Average income and population began to exhibit unprecedented sustained "
    "growth, as new manufacturing processes replaced hand production methods with machines, "
    "steam power, and the factory system. Textiles were the dominant industry in terms of "
    "employment, value of output, and capital invested.",
    "Machine learning is a field of study in artificial intelligence concerned with the "
    "development of statistical algorithms that can learn from data and generalize to unseen "
    "data, and thus perform tasks without explicit instructions. Within a subdiscipline in "
    "machine learning, advances in the field of deep learning have allowed neural networks to "
    "surpass many previous approaches in performance. Applications include natural language "
    "processing, computer vision, speech recognition, email filtering, agriculture, and "
    "medicine.",
    "To install the package, first make sure you have a recent version of the compiler. Then "
    "download the source archive, unpack it, and run the configure script followed by make and "
    "make install. If the build fails with missing headers, install the development packages "
    "for your distribution. On Debian and Ubuntu these are usually named with a -dev suffix. "
    "Windows users should use the prebuilt binaries instead. For more details, consult the "
    "INSTALL file in the top-level directory, or ask on the mailing list.",
    "Coral reefs are diverse underwater ecosystems held together by calcium carbonate "
    "structures secreted by corals. They are built by colonies of tiny animals found in marine "
    "water that contain few nutrients. Most coral reefs are built from stony corals, whose "
    "polyps cluster in groups. Often called rainforests of the sea, shallow coral reefs form "
    "some of Earth's most diverse ecosystems. They occupy less than 0.1% of the world's ocean "
    "area, yet they provide a home for at least 25% of all marine species. Rising sea "
    "temperatures cause bleaching, in which corals expel the algae living in their tissues, and "
    "repeated bleaching events can kill large parts of a reef within a few years. Conservation "
    "efforts include marine protected areas, restrictions on fishing, and the restoration of "
    "damaged reefs by transplanting fragments grown in nurseries.",
    "Dear Ms. Alvarez, thank you for your letter of 14 March regarding the delayed shipment of "
    "order #88213. We apologise for the inconvenience. Our records show that the parcel left "
    "our warehouse on 2 March but was held at customs because an invoice was missing. We have "
    "since supplied the document, and the carrier expects to deliver it within five working "
    "days. As a gesture of goodwill we have refunded the shipping charge of $14.95 to your "
    "card. Please do not hesitate to contact us if the parcel has not arrived by the end of "
    "next week. Kind regards, Customer Service",
    /* other languages and scripts */
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "¿Dónde está la estación de tren más cercana?",
    "Le chat dort sur le canapé pendant que la pluie tombe doucement.",
    "Il governo ha approvato una nuova legge sull'energia rinnovabile.",
    "Как пройти к ближайшей станции метро?",
    "東京は日本の首都であり、世界最大の都市圏の一つです。",
    "机器学习是人工智能的一个分支。",
    "안녕하세요, 만나서 반갑습니다.",
    "القاهرة هي عاصمة مصر وأكبر مدنها.",
    "नमस्ते, आप कैसे हैं?",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
    "שלום עולם",
    "Tôi muốn đặt một bàn cho hai người tối nay.",
    "Pojďme se projít do parku, je krásný den.",
    "naïve café résumé coöperate Zürich",
    /* code and markup */
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
    "SELECT name, COUNT(*) FROM orders WHERE status = 'shipped' GROUP BY name ORDER BY 2 DESC;",
    "const user = await fetch(`/api/users/${id}`).then(r => r.json());",
    "<div class=\"header\"><a href=\"/home\">Home</a> | <a href=\"/about\">About</a></div>",
    "{\"id\": 17, \"tags\": [\"red\", \"blue\"], \"active\": true, \"score\": 0.875}",
    "git commit -m \"fix: handle empty input\" && git push origin main",
    "Traceback (most recent call last):\n  File \"main.py\", line 3, in <module>\nKeyError: 'x'",
    "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }",
    /* numbers, URLs, identifiers */
    "https://www.example.com/search?q=embedding+models&page=2#results",
    "Call +1 (555) 013-2471 or email support@example.org before 31/12/2024.",
    "3.14159 2.71828 1.41421 1.73205 0.57721",
    "ISBN 978-0-13-110362-7, DOI 10.1038/nature14539",
    "Order ID: A7X-99321-QZ, total $1,249.99 (incl. 20% VAT)",
    "192.168.0.1 255.255.255.0 fe80::1ff:fe23:4567:890a",
    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
    "E = mc^2; F = ma; a^2 + b^2 = c^2",
    "2024-06-01T12:30:00Z",
    /* casing, punctuation, emoji, repetition, whitespace */
    "THIS IS ALL CAPITAL LETTERS AND IT IS VERY LOUD",
    "!!! ??? ... --- *** ### @@@",
    "I love this 😍🔥👍 so much!!!",
    "lol idk tbh u shud just ask him",
    "the the the the the the the the the the the the the the the the",
    "   leading and trailing spaces   ",
    "tab\tseparated\tvalues\tin\tone\tline",
    "line one\nline two\n\nline four",
};

const size_t cv_calibration_count = sizeof cv_calibration_texts / sizeof cv_calibration_texts[0];
