//! The commands themselves.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use gvcap::device::{discover, Camera, Privilege};
use gvcap::genicam::{FeatureMap, Visibility};

use super::output::{print_discovered, print_features, value_json, DiscoveredJson, FeatureJson};
use super::{camera_ref, Cli, Command, Connection};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Discover {
            interface,
            timeout_ms,
            json,
        } => {
            let found = discover(interface.as_deref(), Duration::from_millis(timeout_ms))?;
            if json {
                let rows: Vec<DiscoveredJson> = found.iter().map(DiscoveredJson::from).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_discovered(&found);
            }
            Ok(())
        }
        Command::Features {
            cam,
            xml,
            all,
            json,
            connection,
        } => {
            let map = match (&cam, &xml) {
                (_, Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading GenICam XML file {}", path.display()))?;
                    FeatureMap::from_xml(&text)
                        .with_context(|| format!("GenICam XML file {}", path.display()))?
                }
                (Some(cam), None) => open_with_features(cam, &connection)?.1,
                (None, None) => bail!("name a camera or give --xml FILE"),
            };
            let list = map.list();
            let shown: Vec<_> = list
                .iter()
                .filter(|f| all || matches!(f.visibility, Visibility::Beginner))
                .collect();
            if json {
                let rows: Vec<FeatureJson> = shown.iter().map(|f| FeatureJson::from(*f)).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_features(&shown);
            }
            Ok(())
        }
        Command::Get {
            cam,
            features,
            json,
            connection,
        } => {
            let (camera, map) = open_with_features(&cam, &connection)?;
            let mut object = serde_json::Map::new();
            for name in &features {
                let value = map
                    .get(&camera, name)
                    .with_context(|| format!("camera {}: reading {name}", camera.name()))?;
                if json {
                    object.insert(name.clone(), value_json(&value));
                } else {
                    println!("{name}={value}");
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&object)?);
            }
            Ok(())
        }
        Command::Set {
            cam,
            assignments,
            json,
            connection,
        } => {
            let parsed = assignments
                .iter()
                .map(|a| {
                    a.split_once('=')
                        .map(|(f, v)| (f.trim().to_string(), v.trim().to_string()))
                        .with_context(|| format!("{a:?} is not FEATURE=VALUE (e.g. Width=640)"))
                })
                .collect::<Result<Vec<_>>>()?;
            let (mut camera, map) = open_with_features(&cam, &connection)?;
            camera
                .take_control(Privilege::Control)
                .context("taking control of the camera to write features")?;
            let mut object = serde_json::Map::new();
            for (name, text) in &parsed {
                map.set_from_str(&camera, name, text)
                    .with_context(|| format!("camera {}: setting {name}={text}", camera.name()))?;
                map.invalidate_all();
                let value = map
                    .get(&camera, name)
                    .with_context(|| format!("camera {}: reading {name} back", camera.name()))?;
                if json {
                    object.insert(name.clone(), value_json(&value));
                } else {
                    println!("{name}={value}");
                }
            }
            camera.release_control()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&object)?);
            }
            Ok(())
        }
        Command::Exec {
            cam,
            command,
            connection,
        } => {
            let (mut camera, map) = open_with_features(&cam, &connection)?;
            camera
                .take_control(Privilege::Control)
                .context("taking control of the camera to execute a command")?;
            map.execute(&camera, &command)
                .with_context(|| format!("camera {}: executing {command}", camera.name()))?;
            camera.release_control()?;
            println!("{command} executed");
            Ok(())
        }
        Command::Control {
            cam,
            exclusive,
            seconds,
            heartbeat_timeout_ms,
            connection,
        } => {
            let mut connection = connection;
            let mut camera = camera_ref::open_with(&cam, &mut connection, |config| {
                config.heartbeat_timeout = heartbeat_timeout_ms.map(Duration::from_millis);
            })?;
            let privilege = if exclusive {
                Privilege::Exclusive
            } else {
                Privilege::Control
            };
            camera.take_control(privilege).with_context(|| {
                format!("camera {}: taking {privilege:?} privilege", camera.name())
            })?;
            println!(
                "holding {privilege:?} privilege of {} for {seconds} s",
                camera.name()
            );
            std::thread::sleep(Duration::from_secs_f64(seconds.max(0.0)));
            camera.release_control()?;
            println!("released");
            Ok(())
        }
        Command::Inspect { files, json } => super::recording::run_inspect(&files, json),
        Command::Export {
            files,
            frames,
            format,
            out,
        } => super::recording::run_export(&files, &frames, format, &out),
        Command::Capture(args) => super::capture::run(args),
        Command::Sync(args) => super::sync::run(args),
        Command::Xml {
            cam,
            out,
            connection,
        } => {
            let camera = camera_ref::open(&cam, &connection)?;
            let xml = gvcap::genicam::fetch_xml(&camera)
                .with_context(|| format!("camera {}: reading its GenICam XML", camera.name()))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &xml.text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "{} bytes from {} written to {}",
                        xml.text.len(),
                        xml.url_text,
                        path.display()
                    );
                }
                None => print!("{}", xml.text),
            }
            Ok(())
        }
    }
}

/// Opens the camera and builds its feature map from the XML it serves.
fn open_with_features(cam: &str, connection: &Connection) -> Result<(Camera, FeatureMap)> {
    let camera = camera_ref::open(cam, connection)?;
    let (map, _xml) = FeatureMap::from_device(&camera)
        .with_context(|| format!("camera {}: loading its GenICam features", camera.name()))?;
    Ok((camera, map))
}
