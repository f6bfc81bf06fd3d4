//! The live window (winit on the main thread, wgpu surface): presents each frame as soon as the sink
//! hands it over, draws the on-screen display, answers keys, writes screenshots of what the window
//! shows (read back from the presented surface texture), and measures capture-to-display latency
//! (from the frame's capture instant to the moment it was queued for presentation).
//!
//! Keys: `1`..`9` switch stages off/on, `n` next style/avatar, `c` calibrate the neutral face, `s`
//! screenshot (PNG), `o` display on/off, `q`/Esc quit. A closed window (or a lost surface) ends the
//! run cleanly.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context};
use doppel_pipeline::gpu::{GpuContext, GpuImage};
use doppel_pipeline::graph::{Sketch, Summary};
use doppel_pipeline::StageCommand;
use image::RgbaImage;
use serde::Serialize;
use winit::application::ApplicationHandler;
use winit::dpi::PhysicalSize;
use winit::event::{ElementState, WindowEvent};
use winit::event_loop::ActiveEventLoop;
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

use super::osd::{self, Line, Rolling};
use super::present::Presenter;
use super::{print_notice, Notice};
use doppel_pipeline::graph::RunHandle;
use doppel_pipeline::live::sink::Slot;

/// What wakes the window up.
#[derive(Debug)]
pub enum UserEvent {
    /// A new frame is in the slot.
    Frame,
    Notice(Notice),
    /// The pipeline finished.
    Ended,
    /// Ctrl-C.
    Interrupted,
}

/// Settings of the window.
#[derive(Clone, Debug)]
pub struct WindowConfig {
    pub title: String,
    /// Inner size in physical pixels.
    pub size: (u32, u32),
    /// Write a screenshot here: after `screenshot_at` presented frames, else at the end of the run.
    pub screenshot: Option<PathBuf>,
    pub screenshot_at: Option<u64>,
    /// Where `s` writes screenshots.
    pub screenshot_dir: PathBuf,
    pub osd: bool,
    /// Show the preview mirrored left to right (key M toggles it).
    pub mirror: bool,
    /// Present on the pipeline's shared device (GPU frames drawn without a readback) rather than
    /// on a device of its own; see [`shares_pipeline_device`].
    pub shared_device: bool,
}

/// Whether the window should present on the pipeline's device. On a GPU, yes: frames a GPU stage
/// left there (the avatar) are drawn from their textures, with no readback and no upload. On a CPU
/// driver (lavapipe) a device has one queue that one thread works through, so a present waits
/// behind the next frame's avatar render: measured at 1280x720, `track,avatar`, p50 20.5 vs 18.7 ms
/// and p99 31 vs 22 ms against a window on its own device with one readback a frame. So there the
/// window takes its own device. `DOPPEL_WINDOW_DEVICE=shared|own` overrides the choice.
pub fn shares_pipeline_device() -> bool {
    match std::env::var("DOPPEL_WINDOW_DEVICE").as_deref() {
        Ok("shared") => true,
        Ok("own") => false,
        _ => GpuContext::shared().is_ok_and(|g| g.info.device_type != wgpu::DeviceType::Cpu),
    }
}

/// What the window did, for the end-of-run figures and `--stats-json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DisplayReport {
    /// Frames presented (new frames; redraws of the same frame are not counted).
    pub presented: u64,
    /// Frames the source produced that never reached the window (pipeline drops and frames
    /// replaced in the window's slot): gaps in the sequence numbers.
    pub dropped: u64,
    /// Of those, frames replaced in the window's slot before the window took them.
    pub dropped_at_window: u64,
    /// Capture-to-display latency in milliseconds.
    pub latency_ms: Summary,
    /// Presented frames per second, first to last present.
    pub fps: f64,
    pub surface_format: String,
    pub present_mode: String,
    /// Whether the window presented on the pipeline's device (GPU frames drawn without readback).
    pub shared_device: bool,
    /// Presents whose frame was written straight into the surface (the fast path: same size, no
    /// shader pass over the frame); the others were drawn by the letterboxing shader.
    pub direct: u64,
    pub window_size: (u32, u32),
    pub screenshots: Vec<String>,
    /// Why the window closed: `end` (the pipeline finished), `closed`, `quit`, `lost`,
    /// `interrupted` or `error`.
    pub ended_by: String,
}

/// The GPU side of the window.
struct Graphics {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    presenter: Presenter,
    copy_src: bool,
    /// The surface accepts copies: frames of its size are written straight into it.
    copy_dst: bool,
}

/// The window application.
pub struct App {
    config: WindowConfig,
    slot: Arc<Slot>,
    /// The run: stop it, switch stages, send commands.
    run: RunHandle,
    gfx: Option<Graphics>,
    started: Instant,
    // Figures.
    rolling: Rolling,
    latencies: Sketch,
    first_present: Option<Instant>,
    last_present: Option<Instant>,
    first_seq: Option<u64>,
    current: Option<(u64, (u32, u32))>,
    /// The pixels of the frame on screen (redraws show it again).
    last: Option<Shown>,
    // Display.
    show_osd: bool,
    osd_drawn: Option<Instant>,
    source_status: Option<String>,
    message: Option<(String, Instant)>,
    // Screenshots waiting for the next present.
    shots: Vec<PathBuf>,
    shot_at_done: bool,
    /// Told once the window can show frames (`true`) or failed to open (`false`): the pipeline
    /// starts only then, so no frame waits for the window and the first presented frame does not
    /// carry the shader compilation in its latency.
    ready: Option<crossbeam_channel::Sender<bool>>,
    pub report: DisplayReport,
    pub error: Option<anyhow::Error>,
}

/// A frame's pixels as the window keeps them: on the CPU (written into the surface through an
/// upload buffer) or on the window's device (drawn from the texture a GPU stage left, no readback).
enum Shown {
    Cpu(RgbaImage),
    Gpu(GpuImage),
}

/// How long a passing message stays on screen.
const MESSAGE_FOR: Duration = Duration::from_secs(5);
/// How long the key help stays on screen after the start.
const HELP_FOR: Duration = Duration::from_secs(5);
/// How often the figures on screen change.
const OSD_EVERY: Duration = Duration::from_millis(250);

impl App {
    pub fn new(
        config: WindowConfig,
        slot: Arc<Slot>,
        run: RunHandle,
        ready: crossbeam_channel::Sender<bool>,
    ) -> Self {
        let show_osd = config.osd;
        Self {
            config,
            slot,
            run,
            gfx: None,
            started: Instant::now(),
            rolling: Rolling::new(Duration::from_secs(2)),
            latencies: Sketch::default(),
            first_present: None,
            last_present: None,
            first_seq: None,
            current: None,
            last: None,
            show_osd,
            osd_drawn: None,
            source_status: None,
            message: None,
            shots: Vec::new(),
            shot_at_done: false,
            ready: Some(ready),
            report: DisplayReport::default(),
            error: None,
        }
    }

    /// Ends the event loop and the run.
    fn quit(&mut self, event_loop: &ActiveEventLoop, why: &str) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(false);
        }
        if self.report.ended_by.is_empty() {
            self.report.ended_by = why.to_string();
        }
        self.run.stop();
        event_loop.exit();
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, error: anyhow::Error) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(false);
        }
        self.error.get_or_insert(error);
        self.quit(event_loop, "error");
    }

    fn say(&mut self, text: String) {
        errln!("{text}");
        self.message = Some((text, Instant::now()));
        self.osd_drawn = None;
    }

    fn open(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<Graphics> {
        let (w, h) = self.config.size;
        let window = Arc::new(
            event_loop
                .create_window(
                    Window::default_attributes()
                        .with_title(self.config.title.clone())
                        .with_inner_size(PhysicalSize::new(w.max(1), h.max(1))),
                )
                .context("cannot open the window")?,
        );
        // The pipeline's shared device or one of its own: see `shares_pipeline_device`.
        let ctx = if self.config.shared_device {
            GpuContext::shared()?
        } else {
            Arc::new(GpuContext::new()?)
        };
        let surface = ctx
            .instance
            .create_surface(window.clone())
            .context("cannot create a wgpu surface for the window")?;
        if !ctx.adapter.is_surface_supported(&surface) {
            return Err(anyhow!(
                "the GPU adapter {} ({}) cannot present to this window; try WGPU_BACKEND=vulkan",
                ctx.info.name,
                ctx.info.backend
            ));
        }
        let caps = surface.get_capabilities(&ctx.adapter);
        let preferred = [
            wgpu::TextureFormat::Rgba8UnormSrgb,
            wgpu::TextureFormat::Bgra8UnormSrgb,
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureFormat::Bgra8Unorm,
        ];
        let format = preferred
            .into_iter()
            .find(|f| caps.formats.contains(f))
            .ok_or_else(|| {
                anyhow!(
                    "the window offers no 8-bit RGBA/BGRA surface format (it offers {:?})",
                    caps.formats
                )
            })?;
        // Lowest latency first: Mailbox replaces a queued frame, Immediate does not wait for
        // vertical blank; Fifo is always there.
        let present_mode = [
            wgpu::PresentMode::Mailbox,
            wgpu::PresentMode::Immediate,
            wgpu::PresentMode::Fifo,
        ]
        .into_iter()
        .find(|m| caps.present_modes.contains(m))
        .unwrap_or(wgpu::PresentMode::Fifo);
        let copy_src = caps.usages.contains(wgpu::TextureUsages::COPY_SRC);
        let copy_dst = caps.usages.contains(wgpu::TextureUsages::COPY_DST);
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&ctx.adapter, size.width.max(1), size.height.max(1))
            .ok_or_else(|| anyhow!("the window's surface cannot be configured"))?;
        config.format = format;
        config.present_mode = present_mode;
        config.desired_maximum_frame_latency = 1;
        config.usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        if copy_src {
            config.usage |= wgpu::TextureUsages::COPY_SRC;
        }
        if copy_dst {
            config.usage |= wgpu::TextureUsages::COPY_DST;
        }
        ctx.checked("configuring the window surface", || {
            surface.configure(&ctx.device, &config)
        })?;
        let mut presenter = Presenter::new(ctx, format)?;
        presenter.set_mirror(self.config.mirror);
        self.report.surface_format = format!("{format:?}");
        self.report.present_mode = format!("{present_mode:?}");
        self.report.shared_device = self.config.shared_device;
        Ok(Graphics {
            window,
            surface,
            config,
            presenter,
            copy_src,
            copy_dst,
        })
    }

    fn resize(&mut self, size: PhysicalSize<u32>) {
        if let Some(g) = self.gfx.as_mut() {
            if size.width > 0 && size.height > 0 {
                g.config.width = size.width;
                g.config.height = size.height;
                g.surface.configure(&g.presenter.ctx().device, &g.config);
                g.window.request_redraw();
            }
        }
    }

    /// The display's lines now.
    fn osd_lines(&self) -> Vec<Line> {
        let (p50, p99) = self.rolling.latency();
        let mut lines = vec![Line::plain(format!(
            "{:.1} FPS  LATENCY P50 {p50:.1} P99 {p99:.1} MS",
            self.rolling.fps()
        ))];
        if let Some((seq, (w, h))) = self.current {
            lines.push(Line::plain(format!(
                "FRAME {seq}  {w}X{h}  DROPPED {}",
                self.dropped()
            )));
        }
        let switches = self.run.switches();
        let stages = if switches.is_empty() {
            "NONE".to_string()
        } else {
            switches
                .iter()
                .enumerate()
                .map(|(i, (name, on))| {
                    let off = if *on { "" } else { " OFF" };
                    format!("{} {name}{off}", i + 1)
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        lines.push(Line::plain(format!("STAGES: {stages}")));
        if let Some(status) = &self.source_status {
            lines.push(Line::warn(status.clone()));
        }
        if let Some((text, at)) = &self.message {
            if at.elapsed() < MESSAGE_FOR {
                lines.push(Line::warn(text.clone()));
            }
        }
        if self.started.elapsed() < HELP_FOR {
            lines.push(Line::plain(
                "KEYS 1-9 STAGE N NEXT C CALIB M MIRROR S SHOT O OSD Q QUIT",
            ));
        }
        lines
    }

    fn dropped(&self) -> u64 {
        match (self.first_seq, self.current) {
            (Some(first), Some((last, _))) => {
                (last + 1 - first).saturating_sub(self.report.presented)
            }
            _ => 0,
        }
    }

    /// Redraws the display when it is due.
    fn refresh_osd(&mut self) -> anyhow::Result<()> {
        if self.osd_drawn.is_some_and(|t| t.elapsed() < OSD_EVERY) {
            return Ok(());
        }
        let lines = self.osd_lines();
        let Some(g) = self.gfx.as_mut() else {
            return Ok(());
        };
        if !self.show_osd {
            g.presenter.set_osd(None)?;
        } else {
            let scale = if g.config.width >= 1000 { 2 } else { 1 };
            let image = osd::render(&lines, scale, g.config.width.saturating_sub(16).max(8));
            g.presenter.set_osd(image.as_ref())?;
        }
        self.osd_drawn = Some(Instant::now());
        Ok(())
    }

    /// Presents the current frame; `fresh` when it is a new one (counted and timed).
    fn present(&mut self, event_loop: &ActiveEventLoop, fresh: Option<Instant>) {
        if let Err(e) = self.refresh_osd() {
            return self.fail(event_loop, e);
        }
        let Some(g) = self.gfx.as_mut() else {
            return;
        };
        let texture = match g.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => return,
            wgpu::CurrentSurfaceTexture::Outdated => {
                let size = g.window.inner_size();
                self.resize(size);
                return;
            }
            wgpu::CurrentSurfaceTexture::Lost => {
                // The window is gone (DESIGN: a lost surface is a closed window).
                return self.quit(event_loop, "lost");
            }
            wgpu::CurrentSurfaceTexture::Validation => {
                return self.fail(
                    event_loop,
                    anyhow!("the window surface raised a validation error"),
                );
            }
        };
        let view = texture.texture.create_view(&Default::default());
        let ctx = g.presenter.ctx().clone();
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("present"),
            });
        let (w, h) = (g.config.width, g.config.height);
        let direct = g.copy_dst
            && matches!(self.last.as_ref(), Some(Shown::Cpu(img))
                if Presenter::can_write_direct(img.dimensions(), (w, h), texture.texture.usage()));
        let drawn = match self.last.as_ref() {
            Some(Shown::Cpu(img)) if direct => g
                .presenter
                .write_direct(&mut encoder, &texture.texture, img)
                .map(|()| g.presenter.encode_osd(&mut encoder, &view, w, h)),
            Some(Shown::Cpu(img)) => g
                .presenter
                .set_frame(img)
                .map(|()| g.presenter.encode(&mut encoder, &view, w, h)),
            Some(Shown::Gpu(gpu)) => {
                g.presenter.set_frame_gpu(gpu);
                g.presenter.encode(&mut encoder, &view, w, h);
                Ok(())
            }
            None => {
                g.presenter.encode(&mut encoder, &view, w, h);
                Ok(())
            }
        };
        if let Err(e) = drawn {
            return self.fail(event_loop, e);
        }
        if direct && fresh.is_some() {
            self.report.direct += 1;
        }
        let shot = self.shots.pop();
        let mut picture: Option<anyhow::Result<RgbaImage>> = None;
        match &shot {
            Some(_) if g.copy_src => {
                picture = Some(g.presenter.read_back(encoder, &texture.texture));
            }
            Some(_) => {
                ctx.queue.submit([encoder.finish()]);
                // The surface cannot be copied from: draw the same picture off screen (the fast
                // path left the frame texture behind).
                picture = Some(match self.last.as_ref() {
                    Some(Shown::Cpu(img)) => g
                        .presenter
                        .set_frame(img)
                        .and_then(|()| g.presenter.render_offscreen(w, h)),
                    Some(Shown::Gpu(_)) | None => g.presenter.render_offscreen(w, h),
                });
            }
            None => {
                ctx.queue.submit([encoder.finish()]);
            }
        }
        g.window.pre_present_notify();
        ctx.queue.present(texture);
        let now = Instant::now();
        if let Some(captured) = fresh {
            let ms = now.duration_since(captured).as_secs_f64() * 1e3;
            self.latencies.record(ms);
            self.rolling.push(now, ms);
            self.report.presented += 1;
            self.first_present.get_or_insert(now);
            self.last_present = Some(now);
        }
        if let (Some(path), Some(picture)) = (shot, picture) {
            match picture.and_then(|img| {
                // Claimed at the start (--screenshot) or a fresh name (`s`): written whole, then
                // renamed into place.
                doppel_pipeline::output::OutputGuard::default()
                    .write_claimed_with(&path, |temp| {
                        img.save(temp).map_err(|e| {
                            doppel_pipeline::Error::output(&path, format!("cannot encode: {e}"))
                        })
                    })
                    .with_context(|| format!("cannot write the screenshot {}", path.display()))
            }) {
                Ok(()) => {
                    let seq = self.current.map_or(0, |c| c.0);
                    self.say(format!("screenshot {} (frame {seq})", path.display()));
                    self.report.screenshots.push(path.display().to_string());
                }
                Err(e) => self.say(format!("screenshot failed: {e:#}")),
            }
        }
        if self
            .config
            .screenshot_at
            .is_some_and(|n| !self.shot_at_done && self.report.presented == n)
        {
            self.shot_at_done = true;
            if let Some(path) = self.config.screenshot.clone() {
                self.shots.push(path);
                if let Some(g) = &self.gfx {
                    g.window.request_redraw();
                }
            }
        }
    }

    /// Takes the newest frame from the slot and presents it.
    fn show_newest(&mut self, event_loop: &ActiveEventLoop) {
        let Some(frame) = self.slot.take() else {
            return;
        };
        let Some(g) = self.gfx.as_ref() else {
            frame.pixels.recycle();
            return;
        };
        self.first_seq.get_or_insert(frame.seq);
        self.current = Some((frame.seq, frame.pixels.dimensions()));
        let captured = frame.captured;
        // A frame on the window's device is drawn from its texture; anything else comes to the
        // CPU (a frame that is already there costs nothing).
        let shown = match frame.pixels.gpu_image() {
            Some(gpu) if gpu.is_on(g.presenter.ctx()) => Shown::Gpu(gpu.clone()),
            _ => match frame.pixels.into_image() {
                Ok(image) => Shown::Cpu(image),
                Err(e) => {
                    self.say(e.to_string());
                    return;
                }
            },
        };
        // Uploaded (or written into the surface) by present; the previous frame's pixels go back
        // to the pool.
        if let Some(Shown::Cpu(old)) = self.last.replace(shown) {
            doppel_pipeline::bufpool::recycle(old.into_raw());
        }
        self.present(event_loop, Some(captured));
    }

    fn screenshot_path(&self) -> PathBuf {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let n = self.report.screenshots.len() + self.shots.len() + 1;
        self.config
            .screenshot_dir
            .join(format!("doppel-{secs}-{n}.png"))
    }

    /// Sends `command` to the stages that take it; says at once when none does.
    fn command(&mut self, command: StageCommand) {
        let text = match self.run.broadcast(command) {
            Ok(stages) => format!(
                "sent to {} (applied with the next frame)",
                stages.join(", ")
            ),
            Err(why) => why,
        };
        self.say(text);
    }

    fn key(&mut self, event_loop: &ActiveEventLoop, key: &Key) {
        match key {
            Key::Named(NamedKey::Escape) => self.quit(event_loop, "quit"),
            Key::Character(c) => match c.as_str() {
                "q" | "Q" => self.quit(event_loop, "quit"),
                "s" | "S" => {
                    let path = self.screenshot_path();
                    self.shots.push(path);
                    if let Some(g) = &self.gfx {
                        g.window.request_redraw();
                    }
                }
                "n" | "N" => self.command(StageCommand::Next),
                "c" | "C" => self.command(StageCommand::Calibrate),
                "m" | "M" => {
                    // Only the preview: what the sinks get is not mirrored.
                    self.config.mirror = !self.config.mirror;
                    if let Some(g) = &mut self.gfx {
                        g.presenter.set_mirror(self.config.mirror);
                        g.window.request_redraw();
                    }
                    let on = if self.config.mirror { "on" } else { "off" };
                    self.say(format!("mirrored preview {on}"));
                }
                "o" | "O" => {
                    self.show_osd = !self.show_osd;
                    self.osd_drawn = None;
                    if let Some(g) = &self.gfx {
                        g.window.request_redraw();
                    }
                }
                digit => {
                    if let Some(i) = digit.parse::<usize>().ok().filter(|d| (1..=9).contains(d)) {
                        let text = match self.run.toggle(i - 1) {
                            Some((name, on)) => {
                                format!("stage {i} ({name}) {}", if on { "on" } else { "off" })
                            }
                            None => format!(
                                "no stage {i}: the pipeline has {}",
                                self.run.switches().len()
                            ),
                        };
                        self.say(text);
                    }
                }
            },
            _ => {}
        }
    }

    fn notice(&mut self, notice: Notice) {
        print_notice(&notice);
        match notice {
            Notice::Message(m) => {
                self.message = Some((m, Instant::now()));
            }
            Notice::Source(status) => self.source_status = status,
            Notice::Reply { stage, answer, .. } => self.say(format!("{stage}: {answer}")),
        }
        self.osd_drawn = None;
        if let Some(g) = &self.gfx {
            g.window.request_redraw();
        }
    }

    /// Final figures.
    pub fn finish(&mut self) -> DisplayReport {
        self.report.dropped = self.dropped();
        self.report.dropped_at_window = self.slot.dropped.load(Ordering::Relaxed);
        self.report.latency_ms = self.latencies.summary();
        self.report.fps = match (self.first_present, self.last_present) {
            (Some(a), Some(b)) if b > a => {
                (self.report.presented.saturating_sub(1)) as f64 / (b - a).as_secs_f64()
            }
            _ => 0.0,
        };
        if let Some(g) = &self.gfx {
            self.report.window_size = (g.config.width, g.config.height);
        }
        self.report.clone()
    }
}

impl ApplicationHandler<UserEvent> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gfx.is_some() {
            return;
        }
        match self.open(event_loop) {
            Ok(g) => {
                self.gfx = Some(g);
                // A few black frames of the frames' size, presented the way frames will be
                // (written into the surface, the display drawn over it): the shaders are compiled
                // and every swapchain image is touched before the first frame.
                let (w, h) = self.config.size;
                let black = RgbaImage::from_pixel(w.max(1), h.max(1), image::Rgba([0, 0, 0, 255]));
                let black_gpu = self
                    .gfx
                    .as_ref()
                    .and_then(|g| GpuImage::upload(g.presenter.ctx(), &black).ok());
                self.last = Some(Shown::Cpu(black));
                for _ in 0..3 {
                    self.present(event_loop, None);
                }
                // And once the way GPU frames are drawn.
                if let Some(gpu) = black_gpu {
                    self.last = Some(Shown::Gpu(gpu));
                    self.present(event_loop, None);
                }
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(self.error.is_none());
                }
            }
            Err(e) => self.fail(event_loop, e),
        }
    }

    fn user_event(&mut self, event_loop: &ActiveEventLoop, event: UserEvent) {
        match event {
            UserEvent::Frame => self.show_newest(event_loop),
            UserEvent::Notice(n) => self.notice(n),
            UserEvent::Ended => {
                // Show what is still in the slot, then the end-of-run screenshot.
                self.show_newest(event_loop);
                if self.config.screenshot.is_some() && !self.shot_at_done {
                    self.shot_at_done = true;
                    if let Some(path) = self.config.screenshot.clone() {
                        self.shots.push(path);
                        self.present(event_loop, None);
                    }
                }
                self.quit(event_loop, "end");
            }
            UserEvent::Interrupted => self.quit(event_loop, "interrupted"),
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested | WindowEvent::Destroyed => self.quit(event_loop, "closed"),
            WindowEvent::Resized(size) => self.resize(size),
            WindowEvent::RedrawRequested => self.present(event_loop, None),
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed && !event.repeat =>
            {
                self.key(event_loop, &event.logical_key);
            }
            _ => {}
        }
    }
}
