use super::*;
use crate::normalise::MatchInput;

fn record(input: MatchInput<'_>) -> MatchRecord {
    MatchRecord::normalise(input).expect("valid test record")
}

/// Compares two inputs and returns the level key of one field.
fn level_of(field: Field, a: MatchInput<'_>, b: MatchInput<'_>) -> &'static str {
    let index = Field::COMPARED.iter().position(|f| *f == field).expect("compared field");
    let vector = compare(&record(a), &record(b));
    vector.0[index].map_or(MISSING.key, |l| field.levels()[usize::from(l)].key)
}

fn check(field: Field, cases: &[(MatchInput<'_>, MatchInput<'_>, &str)]) {
    for (a, b, expected) in cases {
        assert_eq!(level_of(field, *a, *b), *expected, "{} {expected}", field.as_str());
        assert_eq!(level_of(field, *b, *a), *expected, "{} {expected}, swapped", field.as_str());
    }
}

fn given(name: &str) -> MatchInput<'_> {
    MatchInput { given_name: name, ..Default::default() }
}

fn family<'a>(name: &'a str, previous: &'a [&'a str]) -> MatchInput<'a> {
    MatchInput { family_name: name, previous_family_names: previous, ..Default::default() }
}

fn born(date: &str) -> MatchInput<'_> {
    MatchInput { date_of_birth: date, ..Default::default() }
}

fn living_at(postcode: &str) -> MatchInput<'_> {
    MatchInput { postcode, ..Default::default() }
}

#[test]
fn first_name_levels() {
    check(
        Field::FirstName,
        &[
            (given("Zoë"), given("ZOE"), "exact"),
            (given("Oliver James"), given("oliver"), "exact"),
            (given("Bill"), given("William"), "nickname"),
            (given("Peggy"), given("Margaret"), "nickname"),
            (given("Ollie"), given("Oliver"), "nickname"),
            (given("Katherine"), given("Catherine"), "nickname"),
            (given("Jonathon"), given("Jonathan"), "jw_high"),
            (given("Mohammed"), given("Muhammad"), "variant"),
            (given("Yusuf"), given("Yousef"), "variant"),
            (given("Oliver James"), given("James"), "other_given"),
            (given("James"), given("Oliver James"), "other_given"),
            (given("Amelia Rose"), given("Olivia Rose"), "else"),
            (given("Oliver"), given("Olivia"), "jw_low"),
            (given("Molly"), given("Polly"), "jw_low"),
            (given("Ashleigh"), given("Ashley"), "jw_low"),
            (given("Aaliyah"), given("Alia"), "variant"),
            (given("Bobby"), given("Buffy"), "phonetic"),
            (given("Amelia"), given("Olivia"), "else"),
            (given("Amelia"), given(""), "missing"),
        ],
    );
}

#[test]
fn surname_levels() {
    check(
        Field::Surname,
        &[
            (family("O'Brien", &[]), family("OBRIEN", &[]), "exact"),
            (family("Smith-Jones", &[]), family("Smith Jones", &[]), "exact"),
            (family("Smith-Jones", &[]), family("Jones", &[]), "alternate"),
            (family("Taylor", &["Smith"]), family("Smith", &[]), "alternate"),
            (family("Taylor", &["Smith"]), family("Jones", &["Smith"]), "alternate"),
            (family("Thompson", &[]), family("Thomson", &[]), "jw_high"),
            (family("Mackenzie", &[]), family("McKenzie", &[]), "jw_high"),
            (family("Reid", &[]), family("Read", &[]), "variant"),
            (family("Mackay", &[]), family("McGee", &[]), "phonetic"),
            (family("Smith", &[]), family("Khan", &[]), "else"),
            (family("Mohammed", &[]), family("Muhammad", &[]), "variant"),
            (family("Smith", &[]), family("", &[]), "missing"),
        ],
    );
}

#[test]
fn date_of_birth_levels() {
    check(
        Field::DateOfBirth,
        &[
            (born("2015-03-04"), born("2015-03-04"), "exact"),
            (born("2015-03-04"), born("2015-04-03"), "transposed"),
            (born("2015-03-04"), born("2015-03-05"), "one_off"),
            (born("2015-03-04"), born("2015-09-04"), "one_off"),
            (born("2015-03-04"), born("2016-03-04"), "year_off"),
            (born("2015-03-04"), born("2017-03-04"), "one_off"),
            (born("2015-01-01"), born("2015-06-21"), "estimated"),
            (born("2015-07-01"), born("2014-11-30"), "estimated"),
            (born("2015-01-01"), born("2017-06-21"), "else"),
            (born("2015-03-04"), born("2016-04-03"), "else"),
            (born("2015-03-04"), born("2013-06-21"), "else"),
            (born("2015-03-04"), born(""), "missing"),
        ],
    );
}

#[test]
fn sex_levels() {
    let sex = |s| MatchInput { sex: s, ..Default::default() };
    check(
        Field::Sex,
        &[(sex("F"), sex("2"), "same"), (sex("F"), sex("M"), "different"), (sex("F"), sex("U"), "missing")],
    );
}

#[test]
fn approximate_ages_compare_as_ranges() {
    let about = |first, last| MatchInput { birth_years: Some((first, last)), ..Default::default() };
    check(
        Field::DateOfBirth,
        &[
            (born("2015-03-04"), about(2014, 2016), "in_range"),
            (born("2015-03-04"), about(2016, 2018), "else"),
            (about(2014, 2016), about(2016, 2018), "in_range"),
            (about(2010, 2012), about(2016, 2018), "else"),
            (about(2010, 2012), MatchInput::default(), "missing"),
        ],
    );
}

#[test]
fn address_levels() {
    let at = |address_line, postcode| MatchInput { address_line, postcode, ..Default::default() };
    let moved = [("3 Mill Lane", "M1 1AE")];
    let was_at = MatchInput { previous_addresses: &moved, ..at("12 High St", "LS6 2AB") };
    check(
        Field::Address,
        &[
            (at("12 High Street", "LS6 2AB"), at("12 high st", "ls62ab"), "same_address"),
            (living_at("LS6 2AB"), living_at("ls62ab"), "postcode"),
            (at("12 High Street", "LS6 2AB"), living_at("LS6 2AB"), "postcode"),
            (at("12 High Street", "LS6 2AB"), at("14 High Street", "LS6 2AB"), "postcode_other_house"),
            (at("12 High Street", "LS6 2AB"), at("12 High Street", "LS6 2BA"), "address_line"),
            (at("12 High Street", ""), at("12 High Street", "LS6 2AB"), "address_line"),
            (at("23 Mehaffey Crescent", ""), at("23 mehaffey rescent", ""), "address_line"),
            (at("12 High Street", ""), at("14 High Street", ""), "else"),
            (was_at, living_at("M1 1AE"), "previous"),
            (was_at, at("3 Mill Lane", ""), "previous"),
            (living_at("LS6 2AB"), living_at("LS6 2QT"), "district"),
            (living_at("LS6 2AB"), living_at("LS6 4HN"), "district"),
            (living_at("LS6 2AB"), living_at("LS16 2AB"), "else"),
            (at("12 High Street", ""), at("3 Mill Lane", ""), "else"),
            (living_at("LS6 2AB"), living_at(""), "missing"),
        ],
    );
}

#[test]
fn swapped_names_agree_crosswise_on_both_fields() {
    let name = |given_name, family_name| MatchInput { given_name, family_name, ..Default::default() };
    for field in [Field::FirstName, Field::Surname] {
        check(
            field,
            &[
                (name("Oliver", "Smith"), name("Smith", "Oliver"), "swapped"),
                (name("Wei", "Zhang"), name("Zhang", "Wei"), "swapped"),
                (name("Oliver", "Smith"), name("Smith", ""), "swapped"),
            ],
        );
    }
    // Agreeing as recorded wins: Grace Thomas is not a swapped Thomas Grace when a name agrees.
    check(Field::FirstName, &[(name("Grace", "Thomas"), name("Grace", "Grace"), "exact")]);
    check(Field::Surname, &[(name("Oliver", "Smith"), name("Olivia", "Smith"), "exact")]);
}

#[test]
fn every_level_key_is_unique_within_its_field() {
    for field in Field::COMPARED {
        let levels = field.levels();
        assert!(levels.len() <= MAX_LEVELS);
        for (i, level) in levels.iter().enumerate() {
            assert_eq!(levels.iter().position(|l| l.key == level.key), Some(i));
        }
        assert!(levels.iter().all(|l| l.key != MISSING.key));
    }
}
