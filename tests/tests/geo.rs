//! Geospatial fields end to end: GeoJSON points and polygons stored by models declaring
//! `2dsphere` indexes, and the typed geo operators (`near`, `near_sphere`, `geo_within`,
//! `geo_intersects`) answered through them.
//!
//! Distances between the capitals (on mongod's sphere, 6378.1 km): Paris–London 344 km,
//! Paris–Berlin 878 km, Paris–Madrid 1054 km, London–Berlin 933 km.

mod common;

use common::{db, finish};
use odm::prelude::*;

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "places", index(keys(location = "2dsphere")))]
struct Place {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    name: String,
    location: Point,
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "regions", index(keys(area = "2dsphere", name = 1)))]
struct Region {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    name: String,
    area: Polygon,
}

const PARIS: Point = Point::new(2.3522, 48.8566);
const LONDON: Point = Point::new(-0.1276, 51.5072);
const BERLIN: Point = Point::new(13.405, 52.52);
const MADRID: Point = Point::new(-3.7038, 40.4168);

/// Roughly France and Germany, leaving out the British Isles and Iberia.
fn france_and_germany() -> Polygon {
    Polygon::new([
        Point::new(-4.8, 47.5),
        Point::new(-1.8, 49.7),
        Point::new(1.6, 50.9),
        Point::new(2.5, 51.1),
        Point::new(6.0, 53.5),
        Point::new(14.2, 54.0),
        Point::new(15.0, 51.0),
        Point::new(13.0, 47.5),
        Point::new(7.5, 47.5),
        Point::new(6.0, 46.0),
        Point::new(7.5, 43.8),
        Point::new(3.0, 42.4),
        Point::new(-1.8, 43.3),
    ])
}

/// Roughly Spain and Portugal.
fn iberia() -> Polygon {
    Polygon::new([
        Point::new(-9.5, 36.0),
        Point::new(3.3, 36.0),
        Point::new(3.3, 43.8),
        Point::new(-9.5, 43.8),
    ])
}

async fn capitals(db: &Db) -> odm::Collection<Place> {
    let places = db.collection::<Place>();
    let mut rows: Vec<Place> = [
        ("Paris", PARIS),
        ("London", LONDON),
        ("Berlin", BERLIN),
        ("Madrid", MADRID),
    ]
    .into_iter()
    .map(|(name, location)| Place {
        id: None,
        name: name.into(),
        location,
    })
    .collect();
    places.insert_many(&mut rows).await.unwrap();
    places
}

fn names(places: Vec<Place>) -> Vec<String> {
    places.into_iter().map(|p| p.name).collect()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn the_models_declare_their_2dsphere_indexes() {
    let places = Place::indexes();
    assert_eq!(places.len(), 1);
    assert_eq!(places[0].keys, doc! {"location": "2dsphere"});
    assert_eq!(places[0].name(), "location_2dsphere");
    let regions = Region::indexes();
    assert_eq!(regions[0].keys, doc! {"area": "2dsphere", "name": 1});
    assert_eq!(regions[0].name(), "area_2dsphere_name_1");
}

#[tokio::test(flavor = "multi_thread")]
async fn points_are_stored_as_geojson_with_their_index() {
    let db = db().await;
    let places = capitals(&db).await;
    // The first write created the declared index: a sync finds it as declared.
    let report = places.sync_indexes().await.unwrap();
    assert_eq!(report.unchanged, ["location_2dsphere"], "{report:?}");
    let raw = places
        .raw()
        .find_one(doc! {"name": "Paris"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        raw.get_document("location").unwrap(),
        &doc! {"type": "Point", "coordinates": [2.3522, 48.8566]}
    );
    let f = Place::fields();
    let paris = places.find(f.name.eq("Paris")).first().await.unwrap();
    assert_eq!(paris.map(|p| p.location), Some(PARIS));
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn near_returns_the_closest_first() {
    let db = db().await;
    let places = capitals(&db).await;
    let f = Place::fields();
    let close = places
        .find(f.location.near(PARIS, Distance::at_most(400_000.0)))
        .await
        .unwrap();
    assert_eq!(names(close), ["Paris", "London"]);
    // Without a bound, every place, nearest first.
    let all = places
        .find(f.location.near(PARIS, Distance::any()))
        .await
        .unwrap();
    assert_eq!(names(all), ["Paris", "London", "Berlin", "Madrid"]);
    // With another condition, and a limit.
    let nearest_other = places
        .find(f.location.near(BERLIN, Distance::any()) & f.name.ne("Berlin"))
        .limit(1)
        .await
        .unwrap();
    assert_eq!(names(nearest_other), ["Paris"]);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn near_with_the_distance_of_each_result() {
    let db = db().await;
    let places = capitals(&db).await;
    let f = Place::fields();
    let hits = places
        .find(f.location.near(PARIS, Distance::at_most(1_000_000.0)))
        .with_distance()
        .await
        .unwrap();
    let got: Vec<(&str, f64)> = hits
        .iter()
        .map(|h| (h.doc.name.as_str(), (h.meters / 1000.0).round()))
        .collect();
    // Great-circle distances on MongoDB's sphere (radius 6378.1 km), in km.
    assert_eq!(got, [("Paris", 0.0), ("London", 344.0), ("Berlin", 878.0)]);
    // A query without `near` has no distance to give: an error, not a made-up number.
    assert!(
        places
            .find(f.name.eq("Paris"))
            .with_distance()
            .await
            .is_err()
    );
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn near_sphere_between_two_distances() {
    let db = db().await;
    let places = capitals(&db).await;
    let f = Place::fields();
    let ring = places
        .find(
            f.location
                .near_sphere(PARIS, Distance::between(100_000.0, 1_000_000.0)),
        )
        .await
        .unwrap();
    assert_eq!(names(ring), ["London", "Berlin"]);
    let far = places
        .find(f.location.near_sphere(PARIS, Distance::at_least(900_000.0)))
        .await
        .unwrap();
    assert_eq!(names(far), ["Madrid"]);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn geo_within_a_polygon() {
    let db = db().await;
    let places = capitals(&db).await;
    let f = Place::fields();
    let inside = places
        .find(f.location.geo_within(france_and_germany()))
        .await
        .unwrap();
    assert_eq!(sorted(names(inside)), ["Berlin", "Paris"]);
    let either = places
        .find(
            f.location
                .geo_within(MultiPolygon::new([france_and_germany(), iberia()])),
        )
        .await
        .unwrap();
    assert_eq!(sorted(names(either)), ["Berlin", "Madrid", "Paris"]);
    // geo_within counts (near cannot).
    let count = places.count(f.location.geo_within(iberia())).await.unwrap();
    assert_eq!(count, 1);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn geo_within_a_disk_on_the_sphere() {
    let db = db().await;
    let places = capitals(&db).await;
    let f = Place::fields();
    let around_paris = places
        .find(
            f.location
                .geo_within(Shape::center_sphere_meters(PARIS, 500_000.0)),
        )
        .await
        .unwrap();
    assert_eq!(sorted(names(around_paris)), ["London", "Paris"]);
    // The same disk in radians: 500 km on a 6378.1 km sphere.
    let radians = places
        .find(
            f.location
                .geo_within(Shape::center_sphere(PARIS, 500.0 / 6378.1)),
        )
        .await
        .unwrap();
    assert_eq!(sorted(names(radians)), ["London", "Paris"]);
    let around_berlin = places
        .find(
            f.location
                .geo_within(Shape::center_sphere_meters(BERLIN, 900_000.0)),
        )
        .await
        .unwrap();
    assert_eq!(sorted(names(around_berlin)), ["Berlin", "Paris"]);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn geo_within_a_box() {
    let db = db().await;
    let places = capitals(&db).await;
    let f = Place::fields();
    let west = places
        .find(
            f.location
                .geo_within(Shape::bbox(Point::new(-10.0, 35.0), Point::new(3.0, 60.0))),
        )
        .await
        .unwrap();
    assert_eq!(sorted(names(west)), ["London", "Madrid", "Paris"]);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn geo_intersects_points_and_stored_polygons() {
    let db = db().await;
    let places = capitals(&db).await;
    let f = Place::fields();
    // Stored points inside a polygon intersect it.
    let british_isles = Polygon::new([
        Point::new(-11.0, 49.5),
        Point::new(2.0, 49.5),
        Point::new(2.0, 59.0),
        Point::new(-11.0, 59.0),
    ]);
    let hit = places
        .find(f.location.geo_intersects(british_isles))
        .await
        .unwrap();
    assert_eq!(names(hit), ["London"]);

    // Stored polygons, queried with a point and with a line.
    let regions = db.collection::<Region>();
    let mut rows = vec![
        Region {
            id: None,
            name: "France and Germany".into(),
            area: france_and_germany(),
        },
        Region {
            id: None,
            name: "Iberia".into(),
            area: iberia(),
        },
    ];
    regions.insert_many(&mut rows).await.unwrap();
    let r = Region::fields();
    let at_paris = regions.find(r.area.geo_intersects(PARIS)).await.unwrap();
    assert_eq!(at_paris.len(), 1);
    assert_eq!(at_paris[0].name, "France and Germany");
    assert_eq!(at_paris[0].area, france_and_germany());
    let trip = LineString::new([PARIS, MADRID]);
    let crossed = regions
        .find(r.area.geo_intersects(trip))
        .sort(r.name.asc())
        .await
        .unwrap();
    let crossed: Vec<&str> = crossed.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(crossed, ["France and Germany", "Iberia"]);
    let at_london = regions.find(r.area.geo_intersects(LONDON)).await.unwrap();
    assert!(at_london.is_empty(), "{at_london:?}");
    finish(db).await;
}
