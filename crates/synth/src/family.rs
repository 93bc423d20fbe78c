//! Building one family: who is in it, when they were born, the surnames they
//! took and gave up, and where they lived.
//!
//! Five shapes, by weight: a single adult (22), a couple (18), a couple with
//! children (32), a lone parent whose former partner may live elsewhere
//! (16), and a blended family where the parent's new partner is a
//! step-parent to the older children and a parent of their half-siblings
//! (12). Children are over-represented against the census on purpose: the
//! population serves a children's safeguarding hub.

use time::Date;

use crate::{
    Address, FamilyId, Person, PersonId, Residence, Settings, Sex,
    address::Postcodes,
    identifiers,
    names::pools,
    population::{Family, Kinship, Relationship, age},
    rng::{Rng, Stream},
};

const YEAR: i64 = 365;

pub(crate) struct Context<'a> {
    pub settings: &'a Settings,
    pub postcodes: &'a Postcodes,
    pub nhs_base: u64,
}

/// Builds family `id`, numbering its people from `first`, with at most
/// `budget` people.
pub(crate) fn build(context: &Context<'_>, id: FamilyId, first: PersonId, budget: u32) -> Family {
    let mut builder = Builder {
        rng: Rng::keyed(context.settings.seed, Stream::Family, u64::from(id.0)),
        context,
        id,
        next: first.0,
        budget,
        people: Vec::new(),
        relationships: Vec::new(),
        children: Vec::new(),
        domestic_abuse: false,
    };
    // Minimum sizes: single 1, couple 2, couple with a child 3, lone parent 2, blended 4.
    let shape = builder.rng.weighted(&[22, 18, 32, 16, 12]);
    match (shape, budget) {
        (1, 2..) => builder.couple(false),
        (2, 3..) => builder.couple(true),
        (3, 2..) => builder.separated(false),
        (4, 4..) => builder.separated(true),
        _ => builder.single(),
    }
    builder.finish()
}

struct Builder<'a> {
    context: &'a Context<'a>,
    rng: Rng,
    id: FamilyId,
    next: u32,
    budget: u32,
    people: Vec<Person>,
    relationships: Vec<Relationship>,
    /// (member index, which relationship of the resident parent, birth number).
    children: Vec<(usize, u8, u32)>,
    domestic_abuse: bool,
}

/// A birth: its date and whether it brought twins.
struct Birth(Date, bool);

fn days(date: Date, days: i64) -> Date {
    Date::from_julian_day(date.to_julian_day() + days as i32).unwrap_or(date)
}

impl Builder<'_> {
    fn as_of(&self) -> Date {
        self.context.settings.as_of
    }

    fn room(&self) -> u32 {
        self.budget - self.people.len() as u32
    }

    fn date_between(&mut self, from: Date, to: Date) -> Date {
        if to <= from {
            return from;
        }
        days(from, self.rng.between(0, i64::from(to.to_julian_day() - from.to_julian_day())))
    }

    /// A date of birth `years` (a range) before `date`.
    fn born_before(&mut self, date: Date, years: (i64, i64)) -> Date {
        days(date, -self.rng.between(years.0 * YEAR, years.1 * YEAR + YEAR - 1))
    }

    fn adult_surname(&mut self) -> String {
        let surnames = &pools().surnames;
        let first = surnames.draw(&mut self.rng);
        if self.rng.chance(0.02) {
            let second = surnames.draw(&mut self.rng);
            if second != first {
                return format!("{first}-{second}");
            }
        }
        first.to_owned()
    }

    /// A given name no one else in the family has, with `initial` if possible.
    fn given_name(&mut self, sex: Sex, initial: Option<char>) -> &'static str {
        let pool = pools().given(sex);
        let taken: Vec<&str> = self.people.iter().map(|p| p.given_name).collect();
        for attempt in 0..60 {
            let name = pool.draw(&mut self.rng);
            let initial = initial.filter(|_| attempt < 30);
            if !taken.contains(&name) && initial.is_none_or(|i| name.starts_with(i)) {
                return name;
            }
        }
        let names = crate::names::given_names(sex);
        names.iter().find(|name| !taken.contains(name)).unwrap_or(&names[0])
    }

    fn add(&mut self, sex: Sex, date_of_birth: Date, family_name: String, residences: Vec<Residence>) -> usize {
        self.add_named(sex, None, date_of_birth, family_name, residences)
    }

    fn add_named(
        &mut self,
        sex: Sex,
        initial: Option<char>,
        date_of_birth: Date,
        family_name: String,
        residences: Vec<Residence>,
    ) -> usize {
        let id = PersonId(self.next);
        self.next += 1;
        let given_name = self.given_name(sex, initial);
        let as_of = self.as_of();
        let upn = (4..=17).contains(&age(date_of_birth, as_of)).then(|| {
            let local_authority = residences[residences.len() - 1].address.local_authority();
            identifiers::upn(local_authority, date_of_birth.year() + 4, id)
        });
        self.people.push(Person {
            id,
            family: self.id,
            given_name,
            family_name,
            previous_family_names: Vec::new(),
            sex,
            date_of_birth,
            nhs_number: identifiers::nhs_number(self.context.nhs_base, id),
            upn,
            residences,
            twin: None,
        });
        self.people.len() - 1
    }

    fn relate(&mut self, from: usize, kind: Kinship, to: usize) {
        self.relationships.push(Relationship { from: self.people[from].id, kind, to: self.people[to].id });
    }

    fn rename(&mut self, member: usize, name: String) {
        let person = &mut self.people[member];
        if person.family_name != name {
            let old = std::mem::replace(&mut person.family_name, name);
            person.previous_family_names.retain(|n| *n != person.family_name && *n != old);
            person.previous_family_names.push(old);
        }
    }

    fn sex(&mut self) -> Sex {
        if self.rng.chance(0.5) { Sex::Female } else { Sex::Male }
    }

    fn opposite(sex: Sex) -> Sex {
        match sex {
            Sex::Female => Sex::Male,
            Sex::Male => Sex::Female,
        }
    }

    /// A home history from `from` until now: the first address, then up to
    /// three local moves at random dates.
    fn homes(&mut self, first: Address, from: Date) -> Vec<Residence> {
        let moves = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3][self.rng.index(20)];
        let mut dates: Vec<Date> = (0..moves).map(|_| self.date_between(from, self.as_of())).collect();
        dates.sort();
        let mut homes = vec![Residence { address: first, from }];
        for date in dates {
            let next = self.context.postcodes.address(&mut self.rng, Some(&homes[homes.len() - 1].address));
            if next != homes[homes.len() - 1].address {
                homes.push(Residence { address: next, from: date });
            }
        }
        homes
    }

    fn new_homes(&mut self, from: Date, near: Option<&Address>) -> Vec<Residence> {
        let first = self.context.postcodes.address(&mut self.rng, near);
        self.homes(first, from)
    }

    /// An adult's own address before `until` (half of adults had one on
    /// record), then the given homes.
    fn adult_homes(&mut self, born: Date, until: Date, then: &[Residence]) -> Vec<Residence> {
        let mut homes = Vec::new();
        let adult = days(born, 18 * YEAR);
        if adult < until && self.rng.chance(0.5) {
            let from = self.date_between(adult, until);
            let near = then.first().map(|r| &r.address);
            homes.push(Residence { address: self.context.postcodes.address(&mut self.rng, near), from });
        }
        homes.extend(during(then, born, None));
        homes
    }

    /// Births from `first`, about 1 to 5 years apart, none after `latest`.
    fn births(&mut self, first: Date, latest: Date, most: u32) -> Vec<Birth> {
        let wanted = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 4, 5][self.rng.index(20)].min(most);
        let mut births = Vec::new();
        let mut date = first;
        while births.len() < wanted as usize && date <= latest {
            births.push(Birth(date, self.rng.chance(self.context.settings.demography.twin_births)));
            date = days(date, self.rng.between(300, 5 * YEAR));
        }
        births
    }

    /// A child's surname from the mother's birth surname and the father's.
    fn child_surname(&mut self, mother: &str, father: &str, married: bool) -> String {
        if mother != father && self.rng.chance(self.context.settings.demography.double_barrelled) {
            return format!("{mother}-{father}");
        }
        let fathers = if married { 0.9 } else { 0.6 };
        if self.rng.chance(fathers) { father.to_owned() } else { mother.to_owned() }
    }

    /// The children of `births`, living in `homes`, with surname `surname`
    /// and the given parents; `relationship` tells half-siblings apart.
    fn children(&mut self, births: &[Birth], surname: &str, homes: &[Residence], parents: &[usize], relationship: u8) {
        for (number, Birth(born, twins)) in births.iter().enumerate() {
            if self.room() == 0 {
                return;
            }
            let sex = self.sex();
            let first = self.add(sex, *born, surname.to_owned(), during(homes, *born, None));
            self.children.push((first, relationship, number as u32));
            if *twins && self.room() > 0 {
                let same_sex = self.rng.chance(0.65);
                let sex = if same_sex { sex } else { Self::opposite(sex) };
                // A third of twins share an initial (Ella and Evie), the hardest case.
                let initial = self.rng.chance(0.3).then(|| self.people[first].given_name.chars().next()).flatten();
                let second = self.add_named(sex, initial, *born, surname.to_owned(), during(homes, *born, None));
                self.children.push((second, relationship, number as u32));
                self.people[first].twin = Some(self.people[second].id);
                self.people[second].twin = Some(self.people[first].id);
            }
        }
        let new = self.children.iter().filter(|c| c.1 == relationship).map(|c| c.0).collect::<Vec<_>>();
        for &child in &new {
            for &parent in parents {
                self.relate(parent, Kinship::ParentOf, child);
            }
        }
    }

    fn single(&mut self) {
        let sex = self.sex();
        let born = self.born_before(self.as_of(), (18, 84));
        let adult = days(born, 18 * YEAR);
        let since = self.date_between(adult, self.as_of());
        let homes = self.new_homes(since, None);
        let homes = self.adult_homes(born, since, &homes);
        let surname = self.adult_surname();
        let member = self.add(sex, born, surname, homes);
        // Some women over 25 kept a married name after divorce or widowhood.
        if sex == Sex::Female && self.people[member].age_on(self.as_of()) > 25 && self.rng.chance(0.15) {
            let married = pools().surnames.draw(&mut self.rng).to_owned();
            self.rename(member, married);
        }
    }

    /// Two adults born around the same time: (first, second).
    fn pair(&mut self, first: Sex, second: Sex, eldest_child: Option<Date>) -> (Date, Date) {
        let first_born = match eldest_child {
            Some(child) => self.born_before(child, (18, 40)),
            None => self.born_before(self.as_of(), (20, 80)),
        };
        let gap = if first == Sex::Female && second == Sex::Male { (-2, 6) } else { (-5, 5) };
        let second_born = days(first_born, -self.rng.between(gap.0 * YEAR, gap.1 * YEAR));
        let limit = eldest_child.map(|c| days(c, -17 * YEAR)).unwrap_or(days(self.as_of(), -18 * YEAR));
        (first_born, second_born.min(limit))
    }

    /// When two adults set up home: before their first child, as adults.
    fn together(&mut self, born: (Date, Date), first_child: Option<Date>) -> Date {
        let adult = days(born.0.max(born.1), 18 * YEAR);
        let latest = first_child.unwrap_or(self.as_of());
        // Never after the first child, even for a very young parent.
        let earliest = adult.max(days(latest, -15 * YEAR)).min(latest);
        self.date_between(earliest, latest)
    }

    /// Marriage: the wife takes the husband's name (a married couple of the
    /// same sex keep theirs).
    fn marry(&mut self, a: usize, b: usize) {
        let (wife, husband) = match (self.people[a].sex, self.people[b].sex) {
            (Sex::Female, Sex::Male) => (a, b),
            (Sex::Male, Sex::Female) => (b, a),
            _ => return,
        };
        let name = self.people[husband].family_name.clone();
        self.rename(wife, name);
    }

    fn mother_and_father(&self, a: usize, b: usize) -> (usize, usize) {
        if self.people[a].sex == Sex::Female { (a, b) } else { (b, a) }
    }

    /// A surname before any marriage.
    fn birth_surname(&self, member: usize) -> String {
        let person = &self.people[member];
        person.previous_family_names.first().unwrap_or(&person.family_name).clone()
    }

    fn couple(&mut self, with_children: bool) {
        let first_sex = if self.rng.chance(0.95) { Sex::Female } else { Sex::Male };
        let second_sex = if self.rng.chance(0.95) { Self::opposite(first_sex) } else { first_sex };
        let first_child = with_children.then(|| self.born_before(self.as_of(), (0, 17)));
        let born = self.pair(first_sex, second_sex, first_child);
        let since = self.together(born, first_child);
        let homes = self.new_homes(since, None);
        let (first_homes, second_homes) =
            (self.adult_homes(born.0, since, &homes), self.adult_homes(born.1, since, &homes));
        let (first_surname, second_surname) = (self.adult_surname(), self.adult_surname());
        let a = self.add(first_sex, born.0, first_surname, first_homes);
        let b = self.add(second_sex, born.1, second_surname, second_homes);
        self.relate(a, Kinship::Partners, b);
        let married = self.rng.chance(0.55);
        if married {
            self.marry(a, b);
        }
        self.abuse_risk();
        let Some(first_child) = first_child else { return };
        let births = self.births(first_child, self.as_of(), self.room());
        let surname = if first_sex == second_sex {
            self.people[a].family_name.clone()
        } else {
            let (mother, father) = self.mother_and_father(a, b);
            let (mother, father) = (self.birth_surname(mother), self.people[father].family_name.clone());
            self.child_surname(&mother, &father, married)
        };
        self.children(&births, &surname, &homes, &[a, b], 0);
    }

    /// A parent whose children's other parent left; in a blended family a
    /// new partner moved in and had children with the parent.
    fn separated(&mut self, blended: bool) {
        let sex = if self.rng.chance(0.9) { Sex::Female } else { Sex::Male };
        let first_child = self.born_before(self.as_of(), if blended { (3, 17) } else { (1, 17) });
        let born = self.pair(sex, Self::opposite(sex), Some(first_child));
        let since = self.together(born, Some(first_child));
        // The first children were all born before the separation.
        let room_for_others = if blended { 2 } else { 0 };
        let last_first = days(self.as_of(), if blended { -2 * YEAR } else { -60 });
        let births = self.births(first_child, last_first, self.room() - 1 - room_for_others);
        let last_birth = births.last().map_or(first_child, |b| b.0);
        let latest_split = days(self.as_of(), if blended { -YEAR - 180 } else { -1 });
        let split = self.date_between(days(last_birth, 60), days(last_birth, 3 * YEAR).min(latest_split));

        // At the split one of them moves out, usually locally.
        let mut homes = self.new_homes(since, None);
        homes.retain(|r| r.from < split);
        let shared = homes[homes.len() - 1].address.clone();
        let family_moves = self.rng.chance(0.5);
        let after = if family_moves { self.new_homes(split, Some(&shared)) } else { self.homes(shared.clone(), split) };
        let others_after = if family_moves {
            vec![Residence { address: shared, from: split }]
        } else {
            self.new_homes(split, Some(&shared))
        };
        let together = homes.to_vec();
        homes.extend(after);

        let parent_homes = self.adult_homes(born.0, since, &homes);
        let surname = self.adult_surname();
        let parent = self.add(sex, born.0, surname, parent_homes);
        let other_surname = self.adult_surname();
        let married = self.rng.chance(0.5);
        let (mother_birth_name, father_name) = match sex {
            Sex::Female => (self.people[parent].family_name.clone(), other_surname.clone()),
            Sex::Male => (other_surname.clone(), self.people[parent].family_name.clone()),
        };
        // A mother who took the father's name keeps it or goes back to hers.
        if married && sex == Sex::Female {
            self.rename(parent, father_name.clone());
            if self.rng.chance(0.5) {
                self.rename(parent, mother_birth_name.clone());
            }
        }
        let first_surname = self.child_surname(&mother_birth_name, &father_name, married);
        self.children(&births, &first_surname, &homes, &[parent], 0);

        if blended && self.room() > 0 {
            self.new_partner(parent, split);
        }
        if self.room() > 0 && self.rng.chance(0.6) {
            let other_sex = Self::opposite(sex);
            let mut other_homes = self.adult_homes(born.1, since, &together);
            let stays = other_homes.last().is_some_and(|last| last.address == others_after[0].address);
            other_homes.extend(others_after.into_iter().skip(usize::from(stays)));
            let other = self.add(other_sex, born.1, other_surname, other_homes);
            if married && other_sex == Sex::Female {
                self.rename(other, father_name);
                if self.rng.chance(0.5) {
                    self.rename(other, mother_birth_name);
                }
            }
            self.relate(parent, Kinship::FormerPartners, other);
            let first_children: Vec<usize> = self.children.iter().filter(|c| c.1 == 0).map(|c| c.0).collect();
            for child in first_children {
                self.relate(other, Kinship::ParentOf, child);
            }
        }
        self.abuse_risk();
    }

    /// A new partner moves in after the split, becomes step-parent to the
    /// children, and may have children with the parent.
    fn new_partner(&mut self, parent: usize, split: Date) {
        let sex = Self::opposite(self.people[parent].sex);
        let moved_in = self.date_between(days(split, 90), days(split, 3 * YEAR).min(days(self.as_of(), -YEAR)));
        let parent_born = self.people[parent].date_of_birth;
        let born = days(parent_born, -self.rng.between(-5 * YEAR, 5 * YEAR)).min(days(moved_in, -18 * YEAR));
        let family_homes = during(&self.people[parent].residences, moved_in, None);
        let mut homes = vec![Residence {
            address: self.context.postcodes.address(&mut self.rng, Some(&family_homes[0].address)),
            from: self.date_between(days(born, 18 * YEAR), moved_in),
        }];
        homes.extend(family_homes.iter().cloned());
        let surname = self.adult_surname();
        let partner = self.add(sex, born, surname, homes);
        self.relate(parent, Kinship::Partners, partner);
        let married = self.rng.chance(0.4);
        if married {
            self.marry(parent, partner);
        }
        let first_children: Vec<usize> = self.children.iter().map(|c| c.0).collect();
        for &child in &first_children {
            self.relate(partner, Kinship::StepParentOf, child);
        }
        // Some children take the step-father's surname.
        if sex == Sex::Male && self.rng.chance(0.15) {
            for &child in &first_children {
                self.rename(child, self.people[partner].family_name.clone());
            }
        }
        let first_birth = days(moved_in, self.rng.between(270, 2 * YEAR));
        let births = self.births(first_birth, self.as_of(), self.room());
        let (mother, father) = self.mother_and_father(parent, partner);
        let (mother, father) = (self.birth_surname(mother), self.people[father].family_name.clone());
        let surname = self.child_surname(&mother, &father, married);
        self.children(&births, &surname, &family_homes, &[parent, partner], 1);
    }

    fn abuse_risk(&mut self) {
        self.domestic_abuse = self.rng.chance(self.context.settings.demography.domestic_abuse);
    }

    fn finish(mut self) -> Family {
        for (i, &(a, rel_a, birth_a)) in self.children.iter().enumerate() {
            for &(b, rel_b, birth_b) in &self.children[i + 1..] {
                let kind = match (rel_a == rel_b, birth_a == birth_b) {
                    (true, true) => Kinship::Twins,
                    (true, false) => Kinship::Siblings,
                    (false, _) => Kinship::HalfSiblings,
                };
                let (from, to) = (self.people[a].id, self.people[b].id);
                self.relationships.push(Relationship { from, kind, to });
            }
        }
        // Only a family with two adults can have a domestic-abuse incident.
        let adults = self.people.iter().filter(|p| p.age_on(self.context.settings.as_of) >= 18).count();
        Family {
            id: self.id,
            people: self.people,
            relationships: self.relationships,
            domestic_abuse: self.domestic_abuse && adults >= 2,
        }
    }
}

/// The part of a home history within `[from, until)`.
fn during(homes: &[Residence], from: Date, until: Option<Date>) -> Vec<Residence> {
    let mut result: Vec<Residence> = Vec::new();
    for (i, home) in homes.iter().enumerate() {
        let ends = homes.get(i + 1).map(|next| next.from);
        let start = home.from.max(from);
        let overlaps = ends.is_none_or(|end| start < end) && until.is_none_or(|until| start < until);
        let repeats = result.last().is_some_and(|last| last.address == home.address);
        if overlaps && !repeats {
            result.push(Residence { address: home.address.clone(), from: start });
        }
    }
    result
}
